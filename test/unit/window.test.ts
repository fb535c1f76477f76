/** Window assignment: the spec maps an event time to the windows that hold it (lib/pipelines/window.ts). */
import { describe, expect, it } from 'vitest';
import { PipelineDefinitionError } from '../../lib/errors.ts';
import { count } from '../../lib/pipelines/features.ts';
import { pipeline, source } from '../../lib/pipelines/pipeline.ts';
import { WindowAssigner } from '../../lib/ingest/assign.ts';
import { hopping, minutes, storageSpecOf, tumbling, windowEndsHolding, type WindowSpec } from '../../lib/pipelines/window.ts';
import { userEvents } from '../../lib/schemas/events.ts';

const T = Date.parse('2026-11-23T10:00:00Z');
const MIN = 60_000;
const starts = (spec: WindowSpec, t: number) => spec.windowsFor(t).map((w) => w.start);

describe('tumbling windows', () => {
  const w = tumbling(minutes(5));

  it('put an event in the one window that holds it, aligned to the epoch, end exclusive', () => {
    expect(w.windowsFor(T + 7 * MIN + 59_999)).toEqual([{ start: T + 5 * MIN, end: T + 10 * MIN }]);
    expect(w.windowsFor(T + 5 * MIN)).toEqual([{ start: T + 5 * MIN, end: T + 10 * MIN }]);
    expect(w.windowsFor(T + 5 * MIN - 1)).toEqual([{ start: T, end: T + 5 * MIN }]);
    expect([w.kind, w.advanceMs, w.perEvent]).toEqual(['tumbling', 5 * MIN, 1]);
  });

  it('align at and before the epoch as after it', () => {
    expect(w.windowsFor(0)).toEqual([{ start: 0, end: 5 * MIN }]);
    expect(w.windowsFor(-1)).toEqual([{ start: -5 * MIN, end: 0 }]);
    expect(w.windowsFor(-5 * MIN)).toEqual([{ start: -5 * MIN, end: 0 }]);
    expect(w.windowsFor(-5 * MIN - 1)).toEqual([{ start: -10 * MIN, end: -5 * MIN }]);
    // Fractions of a millisecond fall in the window of their whole part.
    expect(starts(w, 0.5)).toEqual([0]);
    expect(starts(w, -0.5)).toEqual([-5 * MIN]);
  });

  it('agree with lastStartOf', () => {
    for (const t of [T, T + 1, T - 1, 0, -1, -7 * MIN, 12_345.678]) expect(w.lastStartOf(t)).toBe(starts(w, t)[0]);
  });
});

describe('hopping windows', () => {
  const w = hopping(minutes(10), { every: minutes(1) });

  it('put an event in size / advance windows, oldest first, each holding it', () => {
    const t = T + 5 * MIN + 30_000;
    const windows = w.windowsFor(t);
    expect(windows).toHaveLength(10);
    expect(windows[0]).toEqual({ start: T - 4 * MIN, end: T + 6 * MIN });
    expect(windows[9]).toEqual({ start: T + 5 * MIN, end: T + 15 * MIN });
    for (const win of windows) {
      expect(win.start <= t && t < win.end).toBe(true);
      expect(win.end - win.start).toBe(10 * MIN);
      expect(win.start % MIN).toBe(0);
    }
    expect(new Set(windows.map((x) => x.start)).size).toBe(10);
    expect([w.kind, w.sizeMs, w.advanceMs, w.perEvent]).toEqual(['hopping', 10 * MIN, MIN, 10]);
  });

  it('start a window at an advance boundary and end one there (end exclusive)', () => {
    expect(starts(w, T)).toEqual(Array.from({ length: 10 }, (_, i) => T - 9 * MIN + i * MIN));
    // One ms earlier: the window starting at T is not among them, the one ending at T is.
    const before = w.windowsFor(T - 1);
    expect(before[0]).toEqual({ start: T - 10 * MIN, end: T });
    expect(before.at(-1)).toEqual({ start: T - MIN, end: T + 9 * MIN });
  });

  it('reach before the epoch for early times, and align negative times alike', () => {
    expect(starts(w, 0)).toEqual(Array.from({ length: 10 }, (_, i) => (i - 9) * MIN));
    expect(starts(w, -1)).toEqual(Array.from({ length: 10 }, (_, i) => (i - 10) * MIN));
    expect(w.lastStartOf(-1)).toBe(-MIN);
    expect(w.lastStartOf(-MIN)).toBe(-MIN);
  });

  it('name each window once for times past float precision', () => {
    for (const t of [1e300, -1e300, Number.MAX_VALUE]) {
      const windows = w.windowsFor(t);
      expect(windows.length).toBeGreaterThanOrEqual(1);
      expect(windows.length).toBeLessThanOrEqual(10);
      expect(new Set(windows.map((x) => x.start)).size).toBe(windows.length);
    }
  });

  it('are tumbling when the advance equals the size', () => {
    const same = hopping(minutes(5), { every: minutes(5) });
    expect(same.kind).toBe('tumbling');
    expect(same.windowsFor(T + 1)).toEqual(tumbling(minutes(5)).windowsFor(T + 1));
  });

  it('refuse an advance that does not divide the size, or sizes that are not positive whole ms', () => {
    expect(() => hopping(minutes(10), { every: minutes(3) })).toThrow(PipelineDefinitionError);
    expect(() => hopping(minutes(10), { every: minutes(3) })).toThrow(/every \(180000 ms\) must divide the size \(600000 ms\)/);
    expect(() => hopping(minutes(10), { every: minutes(20) })).toThrow(/must divide/);
    expect(() => hopping(minutes(10), { every: 0 })).toThrow(/hopping window: every must be a positive whole number of ms, got 0/);
    expect(() => hopping(1.5, { every: 1 })).toThrow(/hopping window: size/);
    expect(() => tumbling(-1)).toThrow(/tumbling window: size/);
  });

  it('are checked again when a pipeline takes them, naming the pipeline', () => {
    const forged = { ...hopping(minutes(10), { every: minutes(1) }), advanceMs: minutes(3) };
    const builder = pipeline('bursts').from(source('user_events', userEvents)).key((e) => e.userId);
    expect(() => builder.window(forged)).toThrow(/pipeline "bursts": window advance \(180000 ms\) must divide its size/);
    expect(builder.window(w).aggregate({ n: count() }).window).toBe(w);
  });
});

describe('hopping windows stored as buckets', () => {
  const w = hopping(minutes(10), { every: minutes(1) });
  const assigned = (spec: WindowSpec, t: number) => new WindowAssigner<number>(spec).assign(t).map((x) => [x.start, x.end]);

  it('store an event in one bucket of one advance, whose windows (by end) are the ones that hold it', () => {
    const buckets = storageSpecOf(w);
    expect([buckets.kind, buckets.sizeMs, buckets.advanceMs, buckets.perEvent]).toEqual(['tumbling', MIN, MIN, 1]);
    const t = T + 5 * MIN + 30_000;
    expect(assigned(buckets, t)).toEqual([[T + 5 * MIN, T + 6 * MIN]]);
    // The windows of that bucket are exactly the windows windowsFor says hold the event: S / A of them.
    const ends = windowEndsHolding(w, T + 5 * MIN);
    expect(ends).toHaveLength(10);
    expect(ends).toEqual(w.windowsFor(t).map((x) => x.end));
    // A tumbling pipeline stores its own windows.
    const five = tumbling(minutes(5));
    expect(storageSpecOf(five)).toBe(five);
  });

  it('put a bucket boundary in the newer bucket (start inclusive, end exclusive)', () => {
    const buckets = storageSpecOf(w);
    expect(assigned(buckets, T)).toEqual([[T, T + MIN]]);
    expect(assigned(buckets, T - 1)).toEqual([[T - MIN, T]]);
    expect(assigned(buckets, T + MIN - 1)).toEqual([[T, T + MIN]]);
    expect(windowEndsHolding(w, T)[0]).toBe(T + MIN);
    expect(windowEndsHolding(w, T).at(-1)).toBe(T + 10 * MIN);
  });

  it('align buckets at and before the epoch', () => {
    const buckets = storageSpecOf(w);
    expect(assigned(buckets, 0)).toEqual([[0, MIN]]);
    expect(assigned(buckets, -1)).toEqual([[-MIN, 0]]);
    expect(assigned(buckets, -MIN)).toEqual([[-MIN, 0]]);
    expect(assigned(buckets, -MIN - 1)).toEqual([[-2 * MIN, -MIN]]);
    expect(windowEndsHolding(w, -MIN)).toEqual(Array.from({ length: 10 }, (_, i) => i * MIN));
    // Every window holding -1 ms ends at 0 or later and starts at or before it.
    expect(w.windowsFor(-1).map((x) => x.end)).toEqual(windowEndsHolding(w, -MIN));
  });

  it('keep S/A windows per event for every advance dividing the size', () => {
    for (const every of [1, 2, 5, 10].map(minutes)) {
      const spec = hopping(minutes(10), { every });
      for (const t of [0, -1, T, T + 7 * MIN + 1]) {
        const [bucket] = new WindowAssigner<number>(storageSpecOf(spec)).assign(t);
        expect(bucket!.end - bucket!.start).toBe(every);
        expect(bucket!.start <= t && t < bucket!.end).toBe(true);
        expect(windowEndsHolding(spec, bucket!.start)).toHaveLength(minutes(10) / every);
      }
    }
  });
});
