/**
 * The hostile family of verify (local/generator/hostile): mixed in deterministically, and judged
 * alike by the engine's planner and by the independent DuckDB reference, record by record: every
 * record its kind marks as malformed is quarantined by both, every other one is read by both.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeKafkaEvent } from '../../lib/codec/kafka-event.ts';
import { encodeKafkaEvent } from '../../lib/codec/encode.ts';
import { planBatch } from '../../lib/ingest/plan.ts';
import { createRouter } from '../../lib/ingest/router.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { generate } from '../../local/generator/generate.ts';
import { HOSTILE_KINDS, mixHostile } from '../../local/generator/hostile/index.ts';
import { toEventLog, writeEventLog, type EventLogEntry } from '../../local/generator/jsonl.ts';
import { computeReference } from '../../local/verify/reference/reference.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hostile-family-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const base = generate({ events: 3000, seed: 5, malformedRate: 0, lateRate: 0, eventsPerSecondOfEventTime: 0.5 }).records;

/** The log as if each record went to partition 0 of its topic, in order (the reference and planner only need an order). */
function logOf(records: ReturnType<typeof mixHostile>['records']): EventLogEntry[] {
  const next = new Map<string, number>();
  const produced = records.map((r) => {
    const offset = next.get(r.topic) ?? 0;
    next.set(r.topic, offset + 1);
    return { topic: r.topic, partition: 0, offset };
  });
  return toEventLog(records, produced);
}

describe('the hostile family', () => {
  it('is mixed in deterministically, with every kind represented, and timestamps on every record', () => {
    const a = mixHostile(base, 9);
    const b = mixHostile(base, 9);
    expect(a.records).toEqual(b.records);
    expect(Object.keys(a.counts)).toEqual(Object.keys(HOSTILE_KINDS));
    expect(Object.values(a.counts).every((n) => n > 0)).toBe(true);
    expect(a.records.length).toBe(base.length + Object.values(a.counts).reduce((x, y) => x + y, 0));
    expect(a.records.every((r) => typeof r.timestamp === 'number')).toBe(true);
    expect(mixHostile(base, 10).records).not.toEqual(a.records);
  });

  it('is quarantined or read alike by the hints, the engine and the reference', async () => {
    const { records } = mixHostile(base, 9);
    const log = logOf(records);
    const path = join(dir, 'events.jsonl');
    await writeEventLog(path, log);

    const reference = await computeReference(path);
    const refQuarantined = new Set(reference.quarantinedOffsets.map((r) => `${r.topic}@${r.offset}`));

    const plan = planBatch(
      decodeKafkaEvent(encodeKafkaEvent(log.map((e) => ({ topic: e.topic, partition: e.partition, offset: e.offset, value: e.value, key: e.key, timestamp: e.timestamp })))),
      createRouter(builtinPipelines),
      { maxRecordBytes: 65_536, maxEventAheadMs: 300_000, lateness: { delayMs: 600_000, marks: new Map() } },
    );
    const engineQuarantined = new Set(plan.sideRecords.filter((r) => r.kind === 'quarantine').map((r) => `${r.topic}@${r.offset}`));
    const hinted = new Set(log.filter((e) => e.malformed !== undefined).map((e) => `${e.topic}@${e.offset}`));

    expect(hinted.size).toBeGreaterThan(50);
    expect([...engineQuarantined].sort()).toEqual([...hinted].sort());
    expect([...refQuarantined].sort()).toEqual([...hinted].sort());
    // No hostile record made anything late: quarantined times moved no watermark.
    expect(plan.stats.late).toBe(0);
    expect(reference.counts.lateRecords).toBe(0);
  });

  it('makes look-alike spellings one key in both, and sums exactly in both', async () => {
    const { records } = mixHostile(base, 9);
    const log = logOf(records);
    const path = join(dir, 'events2.jsonl');
    await writeEventLog(path, log);
    const reference = await computeReference(path);
    const risk = reference.windows.filter((w) => w.pipeline === 'risk' && w.key.startsWith('jos'));
    expect(new Set(risk.map((w) => w.key))).toEqual(new Set(['jos\u00e9-0', 'jos\u00e9-1', 'jos\u00e9-2', 'jos\u00e9-3', 'jos\u00e9-4', 'jos\u00e9-5']));
    for (const w of risk) expect(w.features).toMatchObject({ events: 3, devices: [expect.stringMatching(/^caf\u00e9-\d$/)], cities: ['S\u00e3o Paulo'] });
    const paid = reference.windows.filter((w) => w.pipeline === 'payments' && w.key.startsWith('9711000'));
    expect(paid).toHaveLength(6);
    // 0.1 + 0.2 + 0.3 + 0.000001 + 2.675 + 1000000000.000001, exactly.
    for (const w of paid) expect(w.features.amount).toBe(1_000_000_003.275002);
  });
});
