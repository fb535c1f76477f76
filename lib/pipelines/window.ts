/**
 * Event-time windows, aligned to the epoch. A window spec owns assignment: `windowsFor` maps an
 * event time to the windows that hold it (docs/design.md, "Windows"). Every window is
 * `[start, start + sizeMs)` with `start` a multiple of `advanceMs`; tumbling windows are the case
 * `advanceMs === sizeMs` (one window per event), hopping windows hold each event in
 * `sizeMs / advanceMs` overlapping windows.
 */
import { PipelineDefinitionError } from '../errors.ts';

/** One window: epoch ms, end exclusive. */
export interface TimeWindow {
  start: number;
  end: number;
}

export interface WindowSpec {
  kind: 'tumbling' | 'hopping';
  sizeMs: number;
  /** How far apart window starts are; divides `sizeMs`. */
  advanceMs: number;
  /** Windows per event: `sizeMs / advanceMs`. */
  perEvent: number;
  /**
   * The windows that hold `eventTime`, oldest first: `perEvent` of them (fewer only for times too
   * large for float arithmetic to tell their starts apart). A new array: the ingest hot loop calls
   * it once per newest start met, not per event (lib/ingest/assign.ts).
   */
  windowsFor(eventTime: number): TimeWindow[];
  /** Start of the newest window that holds `eventTime`; allocates nothing. */
  lastStartOf(eventTime: number): number;
}

export type TumblingWindow = WindowSpec & { kind: 'tumbling' };
export type HoppingWindow = WindowSpec & { kind: 'hopping' };

export const minutes = (n: number): number => n * 60_000;
export const hours = (n: number): number => n * 3_600_000;

/** `t` aligned down to a multiple of `step` (also before the epoch, as Spark aligns). */
const alignDown = (t: number, step: number): number => t - (((t % step) + step) % step);

function checkMs(what: string, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new PipelineDefinitionError(`${what} must be a positive whole number of ms, got ${ms}`);
}

function windowSpec<K extends WindowSpec['kind']>(kind: K, sizeMs: number, advanceMs: number): WindowSpec & { kind: K } {
  const perEvent = sizeMs / advanceMs;
  const lastStartOf = (eventTime: number): number => alignDown(eventTime, advanceMs);
  return {
    kind,
    sizeMs,
    advanceMs,
    perEvent,
    lastStartOf,
    windowsFor(eventTime: number): TimeWindow[] {
      const last = lastStartOf(eventTime);
      const windows: TimeWindow[] = [];
      for (let back = perEvent - 1; back >= 0; back--) {
        const start = last - back * advanceMs;
        // Past 2^53 ms neighbouring starts can round to one value: each window once, never twice.
        if (windows.length > 0 && windows[windows.length - 1]!.start === start) continue;
        windows.push({ start, end: start + sizeMs });
      }
      return windows;
    },
  };
}

/** Back-to-back windows of `sizeMs`: each event in exactly one. */
export function tumbling(sizeMs: number): TumblingWindow {
  checkMs('tumbling window: size', sizeMs);
  return windowSpec('tumbling', sizeMs, sizeMs);
}

/**
 * Overlapping windows of `sizeMs`, one starting every `every` ms: each event in `sizeMs / every`
 * windows. `every` must divide the size (so every window is a whole number of advances);
 * `every === sizeMs` is tumbling.
 */
export function hopping(sizeMs: number, options: { every: number }): WindowSpec {
  checkMs('hopping window: size', sizeMs);
  checkMs('hopping window: every', options.every);
  if (options.every > sizeMs || sizeMs % options.every !== 0) {
    throw new PipelineDefinitionError(`hopping window: every (${options.every} ms) must divide the size (${sizeMs} ms)`);
  }
  if (options.every === sizeMs) return tumbling(sizeMs);
  return windowSpec('hopping', sizeMs, options.every);
}

/**
 * Why a spec cannot serve as a pipeline's window, or undefined: for specs not built by tumbling()
 * or hopping() (the builder checks every spec it is given).
 */
export function windowSpecProblem(spec: WindowSpec): string | undefined {
  const whole = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
  if (!whole(spec.sizeMs) || !whole(spec.advanceMs)) return `window size and advance must be positive whole numbers of ms, got ${spec.sizeMs} and ${spec.advanceMs}`;
  if (spec.sizeMs % spec.advanceMs !== 0 || spec.perEvent !== spec.sizeMs / spec.advanceMs) return `window advance (${spec.advanceMs} ms) must divide its size (${spec.sizeMs} ms)`;
  if (typeof spec.windowsFor !== 'function' || typeof spec.lastStartOf !== 'function') return 'window spec must come from tumbling() or hopping()';
  return undefined;
}

/**
 * The windows a pipeline keeps items for: its own when tumbling; for a hopping pipeline, BUCKETS of
 * one advance (a tumbling(advance) window each), merged into its windows when they are evaluated
 * (docs/design.md, "Windows"). One bucket write per key and batch keeps a hopping pipeline's writes
 * at the tumbling cost; an event is late iff its bucket has ended (all or nothing).
 */
export function storageSpecOf(spec: WindowSpec): WindowSpec {
  return spec.kind === 'hopping' ? tumbling(spec.advanceMs) : spec;
}

/**
 * The hopping windows a bucket's events fall in, by their ends: every multiple of the advance in
 * [bucketStart + advance, bucketStart + size].
 */
export function windowEndsHolding(spec: Pick<WindowSpec, 'sizeMs' | 'advanceMs'>, bucketStart: number): number[] {
  const ends: number[] = [];
  for (let end = bucketStart + spec.advanceMs; end <= bucketStart + spec.sizeMs; end += spec.advanceMs) ends.push(end);
  return ends;
}

/** Start of the tumbling window that holds `eventTime`. */
export function windowStartOf(window: Pick<TumblingWindow, 'sizeMs'>, eventTime: number): number {
  return alignDown(eventTime, window.sizeMs);
}
