import { describe, expect, it } from 'vitest';
import { watermarkOf } from '../../lib/closer/watermark.ts';
import { loadCloserConfig } from '../../lib/config/closer-config.ts';

const options = { delayMs: 600_000, idleTimeoutMs: 30_000, policy: 'min' as const };
const now = 1_000_000;
const mark = (partition: number, maxEventTime: number, advancedAt = now) => ({ partition, maxEventTime, advancedAt });

describe('watermarkOf', () => {
  it('is the least active partition time minus the delay; idle partitions stop holding it back', () => {
    expect(watermarkOf([mark(0, 5_000_000), mark(1, 4_000_000)], now, options)).toBe(3_400_000);
    expect(watermarkOf([mark(0, 5_000_000), mark(1, 4_000_000, now - 30_000)], now, options)).toBe(4_400_000);
    // All idle: the stream went quiet, the greatest time counts.
    expect(watermarkOf([mark(0, 5_000_000, 0), mark(1, 4_000_000, 0)], now, options)).toBe(4_400_000);
  });

  it('with known partition counts, holds back while a partition has not reported and others are active', () => {
    const withCounts = { ...options, partitions: { user_events: 3 } };
    const two = [mark(0, 5_000_000), mark(1, 4_000_000)];
    expect(watermarkOf(two, now, withCounts, 'user_events')).toBeUndefined();
    expect(watermarkOf([...two, mark(2, 4_500_000)], now, withCounts, 'user_events')).toBe(3_400_000);
    // Other topics, and a quiet stream, are unaffected.
    expect(watermarkOf(two, now, withCounts, 'iot_telemetry')).toBe(3_400_000);
    expect(watermarkOf([mark(0, 5_000_000, 0), mark(1, 4_000_000, 0)], now, withCounts, 'user_events')).toBe(4_400_000);
  });

  it('never counts a partition with records still to read as idle, however long it has been quiet', () => {
    const stalled = [mark(0, 5_000_000), mark(1, 4_000_000, now - 60_000)];
    // By time alone partition 1 is idle and the watermark passes its pending events.
    expect(watermarkOf(stalled, now, options, 'user_events')).toBe(4_400_000);
    expect(watermarkOf(stalled, now, options, 'user_events', new Map([[0, 0], [1, 250]]))).toBe(3_400_000);
    // Caught up, it is idle again; an unknown backlog (undefined) keeps the time rule.
    expect(watermarkOf(stalled, now, options, 'user_events', new Map([[0, 0], [1, 0]]))).toBe(4_400_000);
    expect(watermarkOf(stalled, now, options, 'user_events', undefined)).toBe(4_400_000);
    // A quiet stream with a backlog somewhere: that partition alone holds the watermark.
    const quiet = [mark(0, 5_000_000, 0), mark(1, 4_000_000, 0)];
    expect(watermarkOf(quiet, now, options, 'user_events', new Map([[1, 3]]))).toBe(3_400_000);
  });

  it('holds back while a partition with records waiting has not reported, even without SOURCE_PARTITIONS', () => {
    const two = [mark(0, 5_000_000), mark(1, 4_000_000)];
    expect(watermarkOf(two, now, options, 'user_events', new Map([[0, 0], [1, 0], [2, 40]]))).toBeUndefined();
    expect(watermarkOf(two, now, options, 'user_events', new Map([[0, 0], [1, 0], [2, 0]]))).toBe(3_400_000);
  });

  it('reads SOURCE_CONSUMER_GROUPS, and says what to set when it is malformed', () => {
    const base = { WINDOWS_TABLE: 'sg-windows', STATE_TABLE: 'sg-state', ALERTS_TABLE: 'sg-alerts', KAFKA_BROKERS: 'localhost:9092' };
    expect(loadCloserConfig({ ...base, SOURCE_CONSUMER_GROUPS: 'user_events=ingest-ue,iot_telemetry=ingest-iot' }).sourceGroups).toEqual({ user_events: 'ingest-ue', iot_telemetry: 'ingest-iot' });
    expect(loadCloserConfig(base).sourceGroups).toEqual({});
    expect(() => loadCloserConfig({ ...base, SOURCE_CONSUMER_GROUPS: 'user_events' })).toThrow(/SOURCE_CONSUMER_GROUPS: must be topic=consumer-group/);
  });

  it('reads SOURCE_PARTITIONS, and says what to set when it is malformed', () => {
    const base = { WINDOWS_TABLE: 'sg-windows', STATE_TABLE: 'sg-state', ALERTS_TABLE: 'sg-alerts', KAFKA_BROKERS: 'localhost:9092' };
    expect(loadCloserConfig({ ...base, SOURCE_PARTITIONS: 'user_events=4,iot_telemetry=2' }).watermark.partitions).toEqual({ user_events: 4, iot_telemetry: 2 });
    expect(loadCloserConfig(base).watermark.partitions).toBeUndefined();
    expect(() => loadCloserConfig({ ...base, SOURCE_PARTITIONS: 'user_events:4' })).toThrow(/SOURCE_PARTITIONS.*topic=partitions/);
  });
});
