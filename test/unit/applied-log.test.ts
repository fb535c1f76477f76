import { describe, expect, it } from 'vitest';
import { AppliedLog } from '../../local/latency/applied-log.ts';
import { findTriggers } from '../../local/latency/triggers.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { defaultRules } from '../../lib/rules/defaults.ts';

const invocation = (partitionId: string, firstOffset: number, lastOffset: number, outcome: 'success' | 'error' | 'partial', resumeOffset?: number) => ({
  partitionId,
  firstOffset,
  lastOffset,
  records: lastOffset - firstOffset + 1,
  payloadBytes: 0,
  attempt: 1,
  durationMs: 1,
  outcome,
  ...(resumeOffset !== undefined ? { resumeOffset } : {}),
});

describe('AppliedLog', () => {
  it('dates a record by the first successful invocation that carried it', () => {
    const log = new AppliedLog();
    log.note(invocation('t-0', 0, 9, 'error'), 100);
    log.note(invocation('t-0', 0, 9, 'partial', 4), 200);
    log.note(invocation('t-0', 4, 9, 'success'), 300);
    log.note(invocation('t-0', 0, 9, 'success'), 400); // a redelivery after a lost commit
    expect(log.appliedAt('t-0', 3)).toBe(200);
    expect(log.appliedAt('t-0', 4)).toBe(300);
    expect(log.appliedAt('t-0', 10)).toBeUndefined();
    expect(log.appliedAt('t-1', 0)).toBeUndefined();
  });

  it('dates when a record was first invoked by the start of the first invocation that carried it, whatever its outcome', () => {
    const log = new AppliedLog();
    log.note({ ...invocation('t-0', 0, 9, 'error'), durationMs: 40 }, 100);
    log.note({ ...invocation('t-0', 10, 19, 'success'), durationMs: 30 }, 250);
    log.note({ ...invocation('t-0', 0, 9, 'success'), durationMs: 50 }, 300);
    expect(log.invokedAt('t-0', 3)).toBe(60);
    expect(log.invokedAt('t-0', 12)).toBe(220);
    expect(log.appliedAt('t-0', 3)).toBe(300);
    expect(log.invokedAt('t-0', 20)).toBeUndefined();
  });
});

describe('watermarkStoredAt', () => {
  const event = (minute: number) => JSON.stringify({ device_id: 'd1', temperature: 20, humidity: 50, timestamp: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString() });
  const base = { topic: 'iot_telemetry', key: 'd1' } as const;
  it('follows the order ingest applied the records, not the order they were produced', async () => {
    // Partition 1 is applied long after partition 0: the watermark (least of both) waits for it.
    const records = [
      { ...base, partition: 0, offset: 0, value: event(0), producedAt: 1_000, appliedAt: 1_100 },
      { ...base, partition: 1, offset: 0, value: event(0), producedAt: 1_010, appliedAt: 5_000 },
      { ...base, partition: 0, offset: 1, value: event(3), producedAt: 2_000, appliedAt: 2_100 },
      { ...base, partition: 1, offset: 1, value: event(3), producedAt: 2_010, appliedAt: 6_000 },
    ];
    const t = await findTriggers(records, { pipelines: builtinPipelines, rules: defaultRules, watermarkDelayMs: 60_000, partitions: { iot_telemetry: 2 } });
    const twoMinutes = Date.UTC(2026, 0, 1, 0, 2);
    expect(t.watermarkPassedAt('iot', twoMinutes)).toBe(2_010);
    expect(t.watermarkStoredAt('iot', twoMinutes)).toBe(6_000);
    expect(t.watermarkStoredAt('iot', Date.UTC(2026, 0, 1, 0, 5))).toBeUndefined();
  });
});
