/**
 * A key's sequence state (docs/design.md, "Sequence rules"): what the matcher needs of the past,
 * bounded in every dimension so the stored item stays small whatever the input.
 *
 * - `marks`: per source partition, the highest offset applied and its event time. An event at or
 *   below its partition's mark was applied by an earlier delivery and is skipped (exactly once).
 * - `history`: per field some rule's history functions read, the most recent distinct values with
 *   their last few positions, expired after the longest D plus the watermark delay.
 * - `rules`: per rule id, the recent events that satisfied each step (the last step's are the
 *   ones not yet matched), expired after `within` plus the watermark delay.
 */

/** An event's place in ORDER: (eventTime, partition, offset) of one topic. */
export interface Pos {
  t: number;
  p: number;
  o: number;
}

export interface HistoryEntry {
  /** The value (values over 128 characters by digest, lib/sequences/matcher.ts). */
  v: string;
  /** Its last occurrences, ascending in ORDER. */
  at: Pos[];
}

export interface RuleState {
  /** The rule version these buffers were built under; another version starts afresh. */
  v: number;
  /** Per step, ascending in ORDER. The last step holds only completing events not yet matched. */
  steps: Pos[][];
}

export interface KeyState {
  /** Per partition (as a string), [last offset applied, its event time]. */
  marks: Record<string, [number, number]>;
  /** The greatest event time applied for the key; -1 before the first. */
  maxTime: number;
  history: Record<string, HistoryEntry[]>;
  rules: Record<string, RuleState>;
}

export const SEQUENCE_LIMITS = {
  /** Distinct values kept per history field and key (SEQ-SEMANTICS: 32). */
  historyValues: 32,
  /** Occurrences kept per value: enough to answer "before e" for events out of order within the delay. */
  occurrencesPerValue: 3,
  /** Events kept per step buffer. */
  stepEvents: 16,
  /** Partitions whose marks a key keeps (a key is normally produced to one). */
  marks: 64,
  /** Characters of a value kept as is; longer ones are kept by digest. */
  valueChars: 128,
} as const;

export function emptyKeyState(): KeyState {
  return { marks: {}, maxTime: -1, history: {}, rules: {} };
}

/** ORDER: negative when a is before b. */
export function comparePos(a: Pos, b: Pos): number {
  return a.t - b.t || a.p - b.p || a.o - b.o;
}

/** Inserts keeping ascending ORDER; a position already present is not added twice. */
export function insertPos(list: Pos[], pos: Pos): boolean {
  let i = list.length;
  while (i > 0 && comparePos(list[i - 1]!, pos) > 0) i--;
  if (i > 0 && comparePos(list[i - 1]!, pos) === 0) return false;
  list.splice(i, 0, pos);
  return true;
}
