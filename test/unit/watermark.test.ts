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

  it('reads SOURCE_PARTITIONS, and says what to set when it is malformed', () => {
    const base = { WINDOWS_TABLE: 'sg-windows', STATE_TABLE: 'sg-state', ALERTS_TABLE: 'sg-alerts', KAFKA_BROKERS: 'localhost:9092' };
    expect(loadCloserConfig({ ...base, SOURCE_PARTITIONS: 'user_events=4,iot_telemetry=2' }).watermark.partitions).toEqual({ user_events: 4, iot_telemetry: 2 });
    expect(loadCloserConfig(base).watermark.partitions).toBeUndefined();
    expect(() => loadCloserConfig({ ...base, SOURCE_PARTITIONS: 'user_events:4' })).toThrow(/SOURCE_PARTITIONS.*topic=partitions/);
  });
});
