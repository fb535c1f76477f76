/**
 * The stream's time line: when record i is produced, which event time it may carry (on time,
 * late, or inside a scenario's window), how that time is spelled, and which record slot each
 * planned record takes.
 */
import { IOT_TELEMETRY, SOURCE_TOPICS, USER_EVENTS } from '../../lib/pipelines/topics.ts';
import { windowStartOf as windowStart } from '../../lib/pipelines/window.ts';
import type { Resolved } from './options.ts';
import type { Random } from './random.ts';
import type { Thresholds } from './thresholds.ts';
import type { PlannedEvent, Stamped, Topic } from './types.ts';

const MINUTE = 60_000;

/** Start of the window of `size` ms holding t. */
export const windowStartOf = (t: number, size: number): number => windowStart({ sizeMs: size }, t);

function isoWithOffset(t: number, offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return new Date(t + offsetMinutes * MINUTE).toISOString().slice(0, 23) + `${sign}${hh}:${mm}`;
}

/** A slot no planned record has taken. */
const FREE = -1;

/** A planned record with the index of its scenario. */
export interface Placed extends PlannedEvent {
  scenario: number;
}

export class Stream {
  /** Records in the stream. */
  readonly n: number;
  /** Stream time between two records (ms). */
  readonly stepMs: number;
  /** Stream time of the last record. */
  readonly spanEnd: number;
  /** Which planned record owns each slot (FREE when none). */
  private readonly slots: Int32Array;
  private readonly planned: Placed[] = [];

  constructor(
    private readonly rng: Random,
    private readonly o: Resolved,
    private readonly thresholds: Thresholds,
  ) {
    this.n = o.events;
    this.stepMs = 1000 / o.eventsPerSecondOfEventTime;
    this.spanEnd = this.arrival(Math.max(0, this.n - 1));
    this.slots = new Int32Array(this.n).fill(FREE);
  }

  /** Largest out-of-order lag of an on-time record (ms): a placed record is produced at most this long after its event time. */
  get maxJitterMs(): number {
    return this.o.maxJitterMs;
  }

  /** Event times a scenario record may carry: from the stream's start to its end minus the jitter, so a slot after each exists. */
  get scenarioRange(): [number, number] {
    return [this.o.start, Math.max(this.o.start, this.spanEnd - this.o.maxJitterMs)];
  }

  /** Stream time at which record i is produced. */
  arrival(i: number): number {
    return this.o.start + Math.floor(i * this.stepMs);
  }

  /** Picks a spelling and format for an event time; whole-second formats round down, never below `notBefore`. */
  stamp(topic: Topic, t: number, notBefore: number): Stamped {
    const rng = this.rng;
    const field = rng.chance(topic === IOT_TELEMETRY ? 0.85 : topic === USER_EVENTS ? 0.5 : 0.4) ? 'timestamp' : 'event_time';
    const r = rng.float();
    if (r < 0.4) return { t, field, value: new Date(t).toISOString() };
    if (r < 0.75) return { t, field, value: t };
    // The source system is in China: some producers send local time with an explicit offset.
    if (r < 0.85) return { t, field, value: isoWithOffset(t, 8 * 60) };
    if (r < 0.95) {
      const s = Math.floor(t / 1000) * 1000;
      if (s >= notBefore) return { t: s, field, value: new Date(s).toISOString().replace('.000Z', 'Z') };
      return { t, field, value: new Date(t).toISOString() };
    }
    return { t, field, value: String(t) };
  }

  /** A topic drawn by its share of the traffic, among those `allowed`; undefined when none is. */
  pickTopic(allowed: (t: Topic) => boolean = () => true): Topic | undefined {
    const entries = SOURCE_TOPICS.filter((t) => this.o.topicShare[t] > 0 && allowed(t)).map((t) => [t, this.o.topicShare[t]] as const);
    return entries.length ? this.rng.weighted(entries) : undefined;
  }

  /** Whether slot i can hold a late record of some topic with traffic. */
  lateEligible(i: number): boolean {
    return SOURCE_TOPICS.some((t) => this.o.topicShare[t] > 0 && this.lateRange(t, i) !== undefined);
  }

  /** Event time of an on-time background record at slot i: a little behind the stream. */
  onTime(i: number): number {
    const now = this.arrival(i);
    // Near the start the lag is capped so that no event predates `start`.
    return now - Math.floor(this.rng.float() * Math.min(this.o.maxJitterMs, now - this.o.start + 1));
  }

  /**
   * Event-time range for a late record of `topic` at slot i: lateByMs behind the stream and inside
   * a window that ended before the watermark (stream - delay). Both are measured from the oldest
   * event time the previous record could carry (jitter, whole-second rounding), with a spare minute
   * so that the lagging partitions of a min-over-partitions watermark have passed it too. A late
   * record must miss every window of its topic, so the longest one decides.
   */
  lateRange(topic: Topic, i: number): [number, number] | undefined {
    const now = this.arrival(i) - Math.ceil(this.stepMs) - this.o.maxJitterMs - 1000;
    const closedBefore = windowStartOf(now - this.o.watermarkDelayMs - MINUTE, this.thresholds.longestWindowMs(topic));
    const hi = Math.min(now - this.o.lateByMs[0], closedBefore - 1);
    const lo = Math.max(this.o.start, now - this.o.lateByMs[1]);
    return hi >= lo ? [lo, hi] : undefined;
  }

  /**
   * Chooses a window of `windowMs` within the stream and `count` sorted event times inside it,
   * spread over at most `spreadMs`, and never later than the stream's end minus the jitter (so a
   * slot produced after each of them exists); when the stream allows, the window ends before the
   * last watermark (stream end minus the delay), so it closes within the run.
   */
  scenarioTimes(windowMs: number, spreadMs: number, count: number, topic: Topic): { windowStart: number; stamps: Stamped[] } {
    const rng = this.rng;
    const o = this.o;
    const latest = Math.max(o.start, this.spanEnd - o.maxJitterMs);
    // Where the stream is long enough, end the window early enough for the watermark (stream end
    // minus the delay) to pass it: an injected scenario should be observable, not cut off by the end.
    const observable = this.spanEnd - o.watermarkDelayMs - o.maxJitterMs - windowMs;
    const anchor = Math.floor(rng.between(o.start, (observable > o.start ? observable : latest) + 1));
    const windowStart = windowStartOf(anchor, windowMs);
    const lo = Math.max(windowStart, o.start);
    const hi = Math.max(lo, Math.min(windowStart + windowMs - 1, latest));
    const spread = Math.min(spreadMs, hi - lo);
    const t0 = lo + Math.floor(rng.float() * (hi - lo - spread + 1));
    const times: number[] = [];
    for (let i = 0; i < count; i++) times.push(t0 + Math.floor(rng.float() * (spread + 1)));
    times.sort((a, b) => a - b);
    return { windowStart, stamps: times.map((t) => this.stamp(topic, t, lo)) };
  }

  /**
   * As scenarioTimes, but the window is the `back`-th before the last one of `windowMs` that ends
   * before the last watermark (stream end minus the delay and the jitter) and still holds part of
   * the stream, so that it closes within a short run; counted round the observable windows. A
   * stream with none gets scenarioTimes' window.
   */
  closingTimes(windowMs: number, spreadMs: number, count: number, topic: Topic, back: number): { windowStart: number; stamps: Stamped[] } {
    const o = this.o;
    const lastEnd = Math.floor((this.spanEnd - o.watermarkDelayMs - o.maxJitterMs) / windowMs) * windowMs;
    // Windows ending after the stream's start (the first holds at least a second of it).
    const observable = Math.max(0, Math.floor((lastEnd - o.start - 1000) / windowMs) + 1);
    if (observable === 0) return this.scenarioTimes(windowMs, spreadMs, count, topic);
    const windowStart = lastEnd - windowMs * (1 + (back % observable));
    const lo = Math.max(windowStart, o.start);
    const hi = windowStart + windowMs - 1;
    const spread = Math.min(spreadMs, hi - lo);
    const t0 = lo + Math.floor(this.rng.float() * (hi - lo - spread + 1));
    const times: number[] = [];
    for (let i = 0; i < count; i++) times.push(t0 + Math.floor(this.rng.float() * (spread + 1)));
    times.sort((a, b) => a - b);
    return { windowStart, stamps: times.map((t) => this.stamp(topic, t, lo)) };
  }

  /**
   * Chooses a boundary B, a multiple of `boundaryMs` within the stream, and `before` sorted event
   * times in [B - halfMs, B) and `after` in [B, B + halfMs): a burst across the boundary. When the
   * stream allows, every window of `windowMs` starting before B ends before the last watermark, so
   * it closes within the run. A stream too short to hold [B - halfMs, B + halfMs) for any B gets the
   * burst in its first 2 * halfMs instead, straddling nothing (boundary undefined).
   */
  straddlingTimes(boundaryMs: number, halfMs: number, windowMs: number, before: number, after: number, topic: Topic): { boundary: number | undefined; stamps: Stamped[] } {
    const rng = this.rng;
    const o = this.o;
    const latest = Math.max(o.start, this.spanEnd - o.maxJitterMs);
    const lowest = Math.ceil((o.start + halfMs) / boundaryMs) * boundaryMs;
    const observable = this.spanEnd - o.watermarkDelayMs - o.maxJitterMs - windowMs;
    const highest = Math.floor(Math.min(latest - halfMs + 1, observable >= lowest ? observable : Infinity) / boundaryMs) * boundaryMs;
    const times: number[] = [];
    let boundary: number | undefined;
    if (highest >= lowest) {
      boundary = lowest + rng.int(0, (highest - lowest) / boundaryMs) * boundaryMs;
      for (let i = 0; i < before; i++) times.push(boundary - 1 - Math.floor(rng.float() * halfMs));
      for (let i = 0; i < after; i++) times.push(boundary + Math.floor(rng.float() * halfMs));
    } else {
      const span = Math.min(latest - o.start, 2 * halfMs - 1);
      for (let i = 0; i < before + after; i++) times.push(o.start + Math.floor(rng.float() * (span + 1)));
    }
    times.sort((a, b) => a - b);
    // Whole-second spellings round down, never below the burst's first possible time.
    const floor = boundary === undefined ? o.start : boundary - halfMs;
    return { boundary, stamps: times.map((t) => this.stamp(topic, t, floor)) };
  }

  /** The planned record at slot i, if one took it. */
  plannedAt(i: number): Placed | undefined {
    const owner = this.slots[i]!;
    return owner === FREE ? undefined : this.planned[owner];
  }

  /** Reserves up to `count` random free slots; short streams may have too few eligible ones. */
  pickSlots(into: Set<number>, count: number, eligible: (i: number) => boolean, taken?: Set<number>): void {
    if (this.n === 0) return;
    for (let attempts = 0; into.size < count && attempts < count * 30; attempts++) {
      const i = this.rng.int(0, this.n - 1);
      if (this.slots[i] === FREE && !into.has(i) && !taken?.has(i) && eligible(i)) into.add(i);
    }
  }

  /**
   * Places a scenario record with event time t at a slot produced no earlier than t and at most
   * maxJitterMs after it, so it is ordinary out-of-order traffic, never late.
   *
   * @throws RangeError when every slot is taken.
   */
  place(p: Placed): void {
    const first = Math.max(0, Math.ceil((p.eventTime - this.o.start) / this.stepMs));
    const last = Math.min(this.n - 1, Math.floor((p.eventTime + this.o.maxJitterMs - this.o.start) / this.stepMs));
    const index = this.planned.push(p) - 1;
    const width = last - first + 1;
    const from = width > 0 ? first + Math.floor(this.rng.float() * width) : Math.min(first, this.n - 1);
    for (let k = 0; k < width; k++) {
      const i = first + ((from - first + k) % width);
      if (this.slots[i] === FREE) {
        this.slots[i] = index;
        return;
      }
    }
    // The jitter range is full (very dense scenarios): take the nearest free slot after, then before.
    for (let i = Math.max(last + 1, 0); i < this.n; i++) {
      if (this.slots[i] === FREE) {
        this.slots[i] = index;
        return;
      }
    }
    for (let i = Math.min(first - 1, this.n - 1); i >= 0; i--) {
      if (this.slots[i] === FREE) {
        this.slots[i] = index;
        return;
      }
    }
    throw new RangeError('no free slot left for a scenario record');
  }
}
