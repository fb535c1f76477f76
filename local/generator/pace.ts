/**
 * Real-time mode: the generator's timeline laid on the wall clock (docs/design.md, "Real-time mode").
 *
 * The generator already gives every record a stream time (its Kafka timestamp: `start + i / rate`)
 * and an event time up to the jitter behind it, or far behind for a late record. Real time starts
 * that timeline now and advances it at the chosen rate, then produces each record when the wall
 * clock reaches its place. Nothing about a record changes, so its disorder (out of order, late) is
 * exactly what the generator made; only when it is produced does.
 */
import type { GenerateOptions, GeneratedRecord } from './generate.ts';

/** Defaults of a real-time run. */
export const REAL_TIME_DEFAULTS = {
  /** Records per second of wall clock (and of event time). */
  rate: 200,
  seconds: 60,
  /**
   * The watermark delay of a real-time run. The deployed 10 minutes would let no window close in a
   * one-minute run; at-close latency is measured from the watermark passing a window's end, so the
   * delay changes how many windows close within the run, not the figure.
   */
  watermarkDelayMs: 10_000,
  /** Out-of-order lag behind the stream; must stay below the delay, or on-time records turn late. */
  maxJitterMs: 5_000,
  /** How far behind the stream late records lie: past the delay, within a few windows. */
  lateByMs: [20_000, 240_000] as readonly [number, number],
} as const;

/**
 * Where in the minute a real-time run's timeline starts: 40 s past it, so that one-minute windows
 * end 20 s into the run, in time for the watermark (the stream minus the 10 s delay and the jitter)
 * to pass them in a one-minute run. Every run then closes the same share of its windows, whatever
 * the clock when it starts, and an at-close alert is timed in each (local/latency/close-rule.ts).
 */
export const REAL_TIME_START_PHASE_MS = 40_000;

/** The first wall-clock ms at or after `earliest` that lies `phaseMs` past a whole minute. */
export function alignedStart(earliest: number, phaseMs: number = REAL_TIME_START_PHASE_MS): number {
  return Math.ceil((earliest - phaseMs) / 60_000) * 60_000 + phaseMs;
}

/** Bound on one run's records (they are generated up front and held in memory). */
export const MAX_REAL_TIME_EVENTS = 2_000_000;

/** Records the generator spends on one scenario of each kind, at most (a generous bound). */
const RECORDS_PER_SCENARIO_SET = 150;

export interface RealTimeRun {
  /** Records per second. */
  rate: number;
  seconds: number;
  seed: number;
  /** Wall-clock ms at which the timeline starts (usually a moment from now). */
  start: number;
  watermarkDelayMs?: number;
}

/**
 * Generator options for a real-time run: `rate * seconds` records whose event time starts at
 * `start` and advances `rate` records per second, so that, produced on {@link paceSchedule}, event
 * time follows the wall clock. Disorder is scaled to the run's short watermark delay, and about one
 * set of fraud scenarios is injected per ten seconds so that a one-minute run has alerts to time.
 *
 * @throws RangeError when rate or seconds is not a positive number.
 */
export function realTimeGeneratorOptions(run: RealTimeRun): GenerateOptions {
  if (!(run.rate > 0) || !Number.isFinite(run.rate)) throw new RangeError(`real-time rate must be a positive number of events/s, got ${run.rate}`);
  if (!(run.seconds > 0) || !Number.isFinite(run.seconds)) throw new RangeError(`real-time seconds must be a positive number, got ${run.seconds}`);
  const events = Math.max(1, Math.round(run.rate * run.seconds));
  if (events > MAX_REAL_TIME_EVENTS) throw new RangeError(`a real-time run of ${run.rate}/s for ${run.seconds} s is ${events} events, over ${MAX_REAL_TIME_EVENTS}`);
  const watermarkDelayMs = run.watermarkDelayMs ?? REAL_TIME_DEFAULTS.watermarkDelayMs;
  return {
    events,
    seed: run.seed,
    start: run.start,
    eventsPerSecondOfEventTime: run.rate,
    watermarkDelayMs,
    maxJitterMs: Math.min(REAL_TIME_DEFAULTS.maxJitterMs, Math.floor(watermarkDelayMs / 2)),
    lateByMs: REAL_TIME_DEFAULTS.lateByMs,
    // At most a fifth of the records go to scenarios, so background traffic still dominates.
    scenariosPerKind: Math.min(Math.max(1, Math.round(run.seconds / 10)), Math.floor(events / (5 * RECORDS_PER_SCENARIO_SET))),
  };
}

/**
 * The wall-clock time at which to produce each record: its stream time (Kafka timestamp) moved so
 * that `timelineStart` falls at `wallStart`. Records are produced in order, so a record is never
 * due before the one ahead of it.
 *
 * @throws RangeError naming the record when one has no timestamp to pace it by.
 */
export function paceSchedule(records: readonly Pick<GeneratedRecord, 'timestamp'>[], timelineStart: number, wallStart: number): number[] {
  const shift = wallStart - timelineStart;
  const due: number[] = new Array(records.length);
  let last = -Infinity;
  records.forEach((r, i) => {
    if (r.timestamp === undefined) throw new RangeError(`record ${i} has no timestamp: real time paces records by their stream time`);
    last = Math.max(last, r.timestamp + shift);
    due[i] = last;
  });
  return due;
}

/**
 * The end (exclusive) of the run of records from `from` that are due at `now`, at most `max` of
 * them; `from` itself when none is due yet.
 */
export function takeDue(due: readonly number[], from: number, now: number, max: number): number {
  let to = from;
  while (to < due.length && to - from < max && due[to]! <= now) to++;
  return to;
}

/** Resolves once the wall clock reads `at` or later (at once if it does). */
export async function sleepUntil(at: number, clock: () => number = Date.now): Promise<void> {
  // A timer may fire a millisecond before Date.now() reaches its mark, hence the loop.
  for (let wait = at - clock(); wait > 0; wait = at - clock()) await new Promise((r) => setTimeout(r, wait));
}
