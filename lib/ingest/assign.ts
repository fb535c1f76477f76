/**
 * The assign step of planning (lib/ingest/plan.ts): an event time to the windows of the batch it
 * falls in, by the pipeline's window spec (lib/pipelines/window.ts, `windowsFor`).
 *
 * Events with the same newest window start fall in the same windows (one for tumbling,
 * size / advance for hopping), so that set is looked up once per start, kept for the batch, and
 * the last one used is at hand: the hot loop allocates nothing per event, and a batch mostly
 * meets one or two starts per pipeline.
 */
import type { WindowSpec } from '../pipelines/window.ts';

/** One window of one pipeline met in a batch, and what the batch folds into it, by key. */
export interface BatchWindow<A> {
  start: number;
  end: number;
  keys: Map<string, A>;
}

/** The windows of the events whose newest window start is `start`, oldest first. */
interface Bucket<A> {
  start: number;
  /** start + advance, when an event time may be matched by comparing it with it; else -Infinity. */
  end: number;
  windows: BatchWindow<A>[];
}

/** Assigns event times to a batch's windows of one pipeline. */
export class WindowAssigner<A> {
  private readonly windows = new Map<number, BatchWindow<A>>();
  private readonly buckets = new Map<number, Bucket<A>>();
  private last: Bucket<A> | undefined = undefined;

  constructor(private readonly spec: WindowSpec) {}

  /** The windows that hold `eventTime`, oldest first (shared: read them, do not keep or change the array). */
  assign(eventTime: number): readonly BatchWindow<A>[] {
    const b = this.last;
    // In the last bucket used (the common case), its start is what lastStartOf would compute: for a
    // whole number of ms in the safe range, that arithmetic is exact.
    if (b !== undefined && eventTime >= b.start && eventTime < b.end && Math.floor(eventTime) === eventTime && eventTime <= Number.MAX_SAFE_INTEGER) {
      return b.windows;
    }
    return (this.last = this.bucketOf(eventTime)).windows;
  }

  private bucketOf(eventTime: number): Bucket<A> {
    const start = this.spec.lastStartOf(eventTime);
    let bucket = this.buckets.get(start);
    if (bucket === undefined) {
      const windows = this.spec.windowsFor(eventTime).map((w) => {
        let window = this.windows.get(w.start);
        if (window === undefined) this.windows.set(w.start, (window = { start: w.start, end: w.end, keys: new Map() }));
        return window;
      });
      // Only an aligned, positive, safe whole start serves as a shortcut; any other always computes.
      const advance = this.spec.advanceMs;
      const exact = start > 0 && Number.isSafeInteger(start + advance) && start % advance === 0;
      this.buckets.set(start, (bucket = { start, end: exact ? start + advance : -Infinity, windows }));
    }
    return bucket;
  }
}
