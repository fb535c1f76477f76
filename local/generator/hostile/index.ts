/**
 * The hostile family of `npm run verify --hostile`: records built to break ingest (future-dated and
 * unrepresentable times, numbers DynamoDB cannot store, look-alike keys, odd encodings, ...),
 * mixed into a generated stream at seeded random positions. The reference (local/verify/reference)
 * models what the engine promises for each, so verify compares them like any other record.
 *
 * A kind is a function `(rng, span) => GeneratedRecord[]` in its own file here; register it in
 * HOSTILE_KINDS. A kind sets `eventTime` for records the engine must accept (undefined for those it
 * must quarantine, with `malformed` saying why), and `timestamp` only when the Kafka timestamp is
 * the point of the record; otherwise the mixer gives it the timestamp of the stream where it lands.
 */
import type { GeneratedRecord } from '../generate.ts';
import { Random } from '../random.ts';
import { lookAlikeKeyRecords } from './look-alike-keys.ts';
import { numberRecords } from './numbers.ts';
import { encodingRecords } from './encodings.ts';
import { hotkeysRecords } from './hotkeys.ts';
import { timeRecords } from './times.ts';

/** The event-time range of the stream hostile records are mixed into (epoch ms). */
export interface StreamSpan {
  startMs: number;
  endMs: number;
}

/** A generator of hostile records of one kind. */
export type HostileKind = (rng: Random, span: StreamSpan) => GeneratedRecord[];

/** Every registered kind, by name (the name is what the report counts them under). */
export const HOSTILE_KINDS: Readonly<Record<string, HostileKind>> = {
  times: timeRecords,
  numbers: numberRecords,
  lookAlikeKeys: lookAlikeKeyRecords,
  encodings: encodingRecords,
  hotKeys: hotkeysRecords,
};

/** Largest lag behind the stream a placed record gets: the generator's on-time jitter (60 s). */
const MAX_LAG_MS = 60_000;

/** The event-time span of generated records (those with an event time). */
export function spanOf(records: readonly GeneratedRecord[]): StreamSpan {
  let startMs = Infinity;
  let endMs = -Infinity;
  for (const r of records) {
    if (r.eventTime === undefined || r.late) continue;
    if (r.eventTime < startMs) startMs = r.eventTime;
    if (r.eventTime > endMs) endMs = r.eventTime;
  }
  if (startMs > endMs) throw new RangeError('no record with an event time to place hostile records among');
  return { startMs, endMs };
}

/** First index whose timestamp is at least t (timestamps of generated records never decrease by much). */
function firstAtOrAfter(timestamps: readonly number[], t: number): number {
  let lo = 0;
  let hi = timestamps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (timestamps[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface MixResult {
  records: GeneratedRecord[];
  /** Hostile records mixed in, by kind. */
  counts: Record<string, number>;
}

/**
 * Mixes the records of `kinds` into `base` (a generated stream with timestamps, in production
 * order) at seeded random positions, and returns the new stream. A hostile record the engine must
 * accept (it has an event time within the stream's span) lands where the stream has just passed its
 * event time, at most a minute after, so it is ordinary on-time traffic; any other lands anywhere.
 * Each gets the timestamp of the record before it unless its kind set one.
 *
 * Pure and deterministic: the same base, seed and kinds give the same stream.
 */
export function mixHostile(base: readonly GeneratedRecord[], seed: number, kinds: Readonly<Record<string, HostileKind>> = HOSTILE_KINDS): MixResult {
  const rng = new Random(seed ^ 0x4057113);
  const span = spanOf(base);
  const timestamps = base.map((r, i) => r.timestamp ?? r.eventTime ?? (i > 0 ? base[i - 1]!.timestamp ?? span.startMs : span.startMs));
  // Insertions by base index: records to insert before base[i] (i = base.length: at the end).
  const before = new Map<number, GeneratedRecord[]>();
  const counts: Record<string, number> = {};
  for (const [name, kind] of Object.entries(kinds)) {
    const records = kind(rng, span);
    counts[name] = records.length;
    for (const r of records) {
      let at: number;
      if (r.eventTime !== undefined && r.eventTime >= span.startMs && r.eventTime <= span.endMs) {
        const first = firstAtOrAfter(timestamps, r.eventTime + 1);
        const last = Math.max(first, firstAtOrAfter(timestamps, r.eventTime + MAX_LAG_MS) - 1);
        at = Math.min(base.length, rng.int(first, last));
      } else {
        at = rng.int(0, base.length);
      }
      const streamTime = at > 0 ? timestamps[at - 1]! : span.startMs;
      // An accepted record is never produced before its event time (as the generator's are not).
      const timestamp = r.timestamp ?? (r.eventTime !== undefined ? Math.max(streamTime, r.eventTime) : streamTime);
      let list = before.get(at);
      if (!list) before.set(at, (list = []));
      list.push({ ...r, timestamp });
    }
  }
  const out: GeneratedRecord[] = [];
  for (let i = 0; i <= base.length; i++) {
    const list = before.get(i);
    if (list) out.push(...list);
    if (i < base.length) out.push(base[i]!);
  }
  return { records: out, counts };
}
