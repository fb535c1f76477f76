/** A hopping window from its buckets (lib/windows/merge-buckets.ts), read as one stored item would be. */
import { describe, expect, it } from 'vitest';
import { distinct, count, max, min } from '../../lib/pipelines/features.ts';
import { pipeline, source } from '../../lib/pipelines/pipeline.ts';
import { hopping, minutes } from '../../lib/pipelines/window.ts';
import { telemetry } from '../../lib/schemas/events.ts';
import { featuresOf, type StoredWindow } from '../../lib/windows/features-of.ts';
import { HyperLogLog } from '../../lib/windows/hll.ts';
import { mergeBuckets, windowsOfStored } from '../../lib/windows/merge-buckets.ts';

const MIN = 60_000;
const sensors = pipeline('sensors')
  .from(source('iot_telemetry', telemetry))
  .key((e) => e.deviceId)
  .window(hopping(minutes(3), { every: minutes(1) }))
  .aggregate({ n: count(), lo: min((e) => e.temperature), hi: max((e) => e.temperature), seen: distinct((e) => String(e.humidity), { exactUpTo: 3 }) });
const bucket = (start: number, slots: StoredWindow['slots'], key = 'd1'): StoredWindow => ({ pipeline: 'sensors', key, windowStart: start, windowEnd: start + MIN, closedAt: undefined, slots });

describe('merging buckets', () => {
  it('adds counters, pools extremes and unions distinct values, exact up to the cap', () => {
    const merged = mergeBuckets(sensors, [bucket(0, { n: 2, lo: [3, 5], hi: [5], seen: ['a', 'b'] }), bucket(MIN, { n: 1, lo: [-1], hi: [9], seen: ['b', 'c'] })]);
    expect(featuresOf(sensors, merged)).toEqual({ n: 3, lo: -1, hi: 9, seen: ['a', 'b', 'c'] });
  });

  it('turns approximate when the union passes the cap or a bucket already had a sketch', () => {
    const over = featuresOf(sensors, mergeBuckets(sensors, [bucket(0, { seen: ['a', 'b'] }), bucket(MIN, { seen: ['c', 'd'] })]));
    expect(over.seen).toMatchObject({ approximate: true, count: expect.any(Number) });
    expect((over.seen as { sample: string[] }).sample).toHaveLength(3);
    const sketched = { values: ['x', 'y', 'z'], sketch: HyperLogLog.of(['x', 'y', 'z', 'w']).toBytes() };
    const withSketch = featuresOf(sensors, mergeBuckets(sensors, [bucket(0, { seen: sketched }), bucket(MIN, { seen: ['a'] })]));
    expect(withSketch.seen).toMatchObject({ approximate: true });
    expect((withSketch.seen as { count: number }).count).toBeGreaterThanOrEqual(5);
  });

  it('lists every window holding a bucket, per key, merged from the buckets it holds', () => {
    const windows = windowsOfStored(sensors, [bucket(0, { n: 1 }), bucket(2 * MIN, { n: 4 }), bucket(0, { n: 7 }, 'd2')]);
    const view = windows.map((w) => [w.key, w.windowStart / MIN, w.windowEnd / MIN, w.slots.n]);
    expect(view).toEqual([
      ['d1', -2, 1, 1],
      ['d1', -1, 2, 1],
      ['d1', 0, 3, 5],
      ['d1', 1, 4, 4],
      ['d1', 2, 5, 4],
      ['d2', -2, 1, 7],
      ['d2', -1, 2, 7],
      ['d2', 0, 3, 7],
    ]);
  });
});
