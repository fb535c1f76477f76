/**
 * A hopping window's content from its buckets (docs/design.md, "Windows"): the window
 * [end - size, end) is the merge of its key's buckets with start in [end - size, end - advance].
 * Merging follows the store's own slot rules, so a merged window reads as one stored whole would:
 * counters add, min/max candidates pool, distinct sets union and stay exact if and only if the
 * union has at most the slot's cap of values (past it, a sketch counts and the set is a sample).
 */
import type { Pipeline } from '../pipelines/pipeline.ts';
import type { StoredSketch, StoredSlots, StoredWindow } from './features-of.ts';
import { HyperLogLog } from './hll.ts';

const isSketch = (v: unknown): v is StoredSketch => typeof v === 'object' && v !== null && !Array.isArray(v) && (v as StoredSketch).sketch instanceof Uint8Array;

/** The buckets of `buckets` that window `[end - sizeMs, end)` holds, by their starts. */
export function bucketsOfWindow<B extends { window: Pick<StoredWindow, 'windowStart'> }>(buckets: readonly B[], end: number, sizeMs: number, advanceMs: number): B[] {
  return buckets.filter((b) => b.window.windowStart >= end - sizeMs && b.window.windowStart <= end - advanceMs);
}

/** Merges buckets' stored slots into one window's, as the store would have kept them in one item. */
export function mergeBuckets(pipeline: Pipeline, buckets: readonly Pick<StoredWindow, 'slots'>[]): StoredSlots {
  if (buckets.length === 1) return buckets[0]!.slots;
  const slots = new Map(pipeline.slots.map((s) => [s.name, s]));
  const merged: StoredSlots = {};
  const distinct = new Map<string, { values: Set<string>; sketch: HyperLogLog | undefined }>();
  for (const bucket of buckets) {
    for (const [name, stored] of Object.entries(bucket.slots)) {
      const slot = slots.get(name);
      if (slot?.op === 'set') {
        let d = distinct.get(name);
        if (!d) distinct.set(name, (d = { values: new Set(), sketch: undefined }));
        const values = isSketch(stored) ? stored.values : (stored as string[]);
        for (const v of values) d.values.add(v);
        if (isSketch(stored)) {
          d.sketch ??= HyperLogLog.empty();
          d.sketch.merge(HyperLogLog.fromBytes(stored.sketch));
        }
      } else if (slot?.op === 'min' || slot?.op === 'max') {
        const candidates = Array.isArray(stored) ? (stored as number[]) : [stored as number];
        merged[name] = [...((merged[name] as number[] | undefined) ?? []), ...candidates];
      } else if (typeof stored === 'number') {
        // Counters, the rejected count included.
        merged[name] = ((merged[name] as number | undefined) ?? 0) + stored;
      }
    }
  }
  for (const [name, d] of distinct) {
    const cap = slots.get(name)!.exactUpTo;
    if (d.sketch === undefined && (cap === undefined || d.values.size <= cap)) {
      merged[name] = [...d.values];
      continue;
    }
    // Past the cap (or already sketched in a bucket): a sketch of everything, the set a bounded sample.
    const sketch = d.sketch ?? HyperLogLog.empty();
    sketch.merge(HyperLogLog.of(d.values));
    const all = [...d.values];
    merged[name] = { values: cap === undefined ? all : all.slice(0, cap), sketch: sketch.toBytes() };
  }
  return merged;
}

/**
 * Every window of a pipeline that holds an event, from its stored items: the items themselves for
 * a tumbling pipeline; for a hopping one, each window `[E - S, E)` that holds a bucket, merged.
 * For tools over a scan (`top`, `rules test`), never on a hot path.
 */
export function windowsOfStored(pipeline: Pipeline, items: readonly StoredWindow[]): StoredWindow[] {
  if (pipeline.window.kind !== 'hopping') return [...items];
  const { sizeMs: S, advanceMs: A } = pipeline.window;
  const byKey = new Map<string, StoredWindow[]>();
  for (const item of items) {
    let list = byKey.get(item.key);
    if (!list) byKey.set(item.key, (list = []));
    list.push(item);
  }
  const out: StoredWindow[] = [];
  for (const [key, buckets] of byKey) {
    const ends = new Set<number>();
    for (const b of buckets) for (let end = b.windowStart + A; end <= b.windowStart + S; end += A) ends.add(end);
    const wrapped = buckets.map((window) => ({ window }));
    for (const end of [...ends].sort((a, b) => a - b)) {
      const inWindow = bucketsOfWindow(wrapped, end, S, A).map((x) => x.window);
      out.push({ pipeline: pipeline.name, key, windowStart: end - S, windowEnd: end, closedAt: undefined, slots: mergeBuckets(pipeline, inWindow) });
    }
  }
  return out;
}
