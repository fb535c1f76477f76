/**
 * The sequence matcher: pure. Given one key's state and new events, it returns the new state and
 * the matches they complete (docs/design.md, "Sequence rules"; SEQ-SEMANTICS):
 *
 * - Events are applied in ORDER (eventTime, partition, offset); an event at or below its
 *   partition's mark was applied before and is skipped, so redelivery changes nothing.
 * - Each event is judged against every step of every rule, with the key's history before it in
 *   ORDER as the state holds it, then added to the history.
 * - A completing event (one that satisfies the last step) matches when a chain e_1 < ... < e_n
 *   exists with e_n.t - e_1.t <= within. The chain reported is the latest one. A completing event
 *   that has no chain yet stays pending: an earlier event still to come (out of order within the
 *   delay, or from another partition) can complete it. It matches at most once.
 * - Buffers keep what a future event can still use: within (or D) plus the watermark delay
 *   before the key's greatest event time, and at most the counts in SEQUENCE_LIMITS.
 *
 * Late events (below their partition's watermark) are dropped by the caller, not here.
 */
import { createHash } from 'node:crypto';
import type { CompiledSequenceRule, SequenceGroup } from './compile.ts';
import type { ConditionEvent, HistoryView } from './condition.ts';
import { comparePos, insertPos, SEQUENCE_LIMITS, type HistoryEntry, type KeyState, type Pos, type RuleState } from './state.ts';

/** One new event for the key. */
export interface SequenceInput {
  event: ConditionEvent & { eventTime: number };
  partition: number;
  offset: number;
}

export interface SequenceMatch {
  rule: CompiledSequenceRule['rule'];
  /** One position per step, ascending. The last is the completing event. */
  chain: Pos[];
}

export interface MatchResult {
  state: KeyState;
  matches: SequenceMatch[];
  /** Events skipped as applied before (at or below their partition's mark). */
  skipped: number;
  /** Whether the state differs from the one passed in (nothing to write otherwise). */
  changed: boolean;
}

export interface MatchOptions {
  /** The watermark delay: how far out of order an on-time event of a partition can be. */
  delayMs: number;
}

/** A value as kept in history: long ones by digest, so an entry stays small. */
export function historyValue(value: string | number): string {
  const s = String(value);
  return s.length <= SEQUENCE_LIMITS.valueChars ? s : `#${createHash('sha256').update(s).digest('hex').slice(0, 32)}`;
}

class History implements HistoryView {
  at: Pos = { t: 0, p: 0, o: 0 };

  constructor(private readonly entries: Record<string, HistoryEntry[]>) {}

  seen(field: string, value: string, since: number): boolean {
    const v = historyValue(value);
    const entry = this.entries[field]?.find((e) => e.v === v);
    return entry !== undefined && entry.at.some((p) => p.t >= since && comparePos(p, this.at) < 0);
  }

  seenAny(field: string, since: number): boolean {
    return (this.entries[field] ?? []).some((e) => e.at.some((p) => p.t >= since && comparePos(p, this.at) < 0));
  }
}

/** Records a value's occurrence; keeps the field to its most recent distinct values. */
function remember(entries: HistoryEntry[], value: string, pos: Pos): void {
  let entry = entries.find((e) => e.v === value);
  if (!entry) {
    entry = { v: value, at: [] };
    entries.push(entry);
  }
  insertPos(entry.at, pos);
  if (entry.at.length > SEQUENCE_LIMITS.occurrencesPerValue) entry.at.splice(0, entry.at.length - SEQUENCE_LIMITS.occurrencesPerValue);
  if (entries.length > SEQUENCE_LIMITS.historyValues) {
    // Evict the value whose latest occurrence is the oldest.
    let oldest = 0;
    for (let i = 1; i < entries.length; i++) if (comparePos(entries[i]!.at.at(-1)!, entries[oldest]!.at.at(-1)!) < 0) oldest = i;
    entries.splice(oldest, 1);
  }
}

/** The latest chain ending at `last`, or undefined when some step has no event before the next. */
function latestChain(steps: Pos[][], last: Pos): Pos[] | undefined {
  const chain: Pos[] = [last];
  let next = last;
  for (let i = steps.length - 2; i >= 0; i--) {
    const buffer = steps[i]!;
    let found: Pos | undefined;
    for (let j = buffer.length - 1; j >= 0; j--) {
      if (comparePos(buffer[j]!, next) < 0) {
        found = buffer[j];
        break;
      }
    }
    if (found === undefined) return undefined;
    chain.unshift(found);
    next = found;
  }
  return chain;
}

function cloneState(s: KeyState): KeyState {
  return structuredClone(s);
}

/**
 * Applies new events of one key to its state for a group of rules (one topic and key field).
 * Pure: the state passed in is not changed.
 */
export function matchSequences(group: SequenceGroup, before: KeyState, inputs: readonly SequenceInput[], options: MatchOptions): MatchResult {
  const state = cloneState(before);
  let skipped = 0;
  const fresh: SequenceInput[] = [];
  for (const input of inputs) {
    const mark = state.marks[String(input.partition)];
    if (mark !== undefined && input.offset <= mark[0]) skipped++;
    else fresh.push(input);
  }
  // A rule whose version changed starts afresh: its steps may mean something else now.
  const live = new Set(group.rules.map((r) => r.rule.id));
  for (const id of Object.keys(state.rules)) if (!live.has(id)) delete state.rules[id];
  for (const { rule } of group.rules) {
    const rs = state.rules[rule.id];
    if (rs === undefined || rs.v !== rule.version || rs.steps.length !== rule.steps.length) {
      state.rules[rule.id] = { v: rule.version, steps: rule.steps.map(() => []) };
    }
  }
  if (fresh.length === 0) return { state: before, matches: [], skipped, changed: false };

  const ordered = fresh
    .map((input) => ({ input, pos: { t: input.event.eventTime, p: input.partition, o: input.offset } }))
    .sort((a, b) => comparePos(a.pos, b.pos));
  for (const field of group.historyMs.keys()) state.history[field] ??= [];
  const history = new History(state.history);
  const touched = new Set<string>();

  for (const { input, pos } of ordered) {
    history.at = pos;
    for (const compiled of group.rules) {
      const rs = state.rules[compiled.rule.id]!;
      for (let i = 0; i < compiled.steps.length; i++) {
        if (compiled.steps[i]!.test(input.event, history) && insertPos(rs.steps[i]!, pos)) {
          touched.add(compiled.rule.id);
        }
      }
    }
    for (const field of group.historyMs.keys()) {
      const value = input.event[field];
      if (value !== undefined && value !== '') remember(state.history[field]!, historyValue(value), pos);
    }
    const key = String(input.partition);
    const mark = state.marks[key];
    if (mark === undefined || input.offset > mark[0]) state.marks[key] = [input.offset, input.event.eventTime];
    if (input.event.eventTime > state.maxTime) state.maxTime = input.event.eventTime;
  }

  const matches: SequenceMatch[] = [];
  for (const compiled of group.rules) {
    if (!touched.has(compiled.rule.id)) continue;
    const rs = state.rules[compiled.rule.id]!;
    const pending = rs.steps[rs.steps.length - 1]!;
    for (let j = 0; j < pending.length; j++) {
      const last = pending[j]!;
      const chain = latestChain(rs.steps, last);
      if (chain === undefined || last.t - chain[0]!.t > compiled.rule.withinMs) continue;
      matches.push({ rule: compiled.rule, chain });
      pending.splice(j--, 1);
    }
  }
  prune(group, state, options.delayMs);
  return { state, matches, skipped, changed: true };
}

/** Drops what no future on-time event can use, then keeps each list to its cap. */
function prune(group: SequenceGroup, state: KeyState, delayMs: number): void {
  for (const compiled of group.rules) {
    const rs: RuleState = state.rules[compiled.rule.id]!;
    const horizon = state.maxTime - compiled.rule.withinMs - delayMs;
    for (const buffer of rs.steps) {
      let drop = 0;
      while (drop < buffer.length && buffer[drop]!.t < horizon) drop++;
      drop = Math.max(drop, buffer.length - SEQUENCE_LIMITS.stepEvents);
      if (drop > 0) buffer.splice(0, drop);
    }
  }
  for (const field of Object.keys(state.history)) {
    const d = group.historyMs.get(field);
    if (d === undefined) {
      delete state.history[field];
      continue;
    }
    const horizon = state.maxTime - d - delayMs;
    const entries = state.history[field]!;
    for (const entry of entries) entry.at = entry.at.filter((p) => p.t >= horizon);
    state.history[field] = entries.filter((e) => e.at.length > 0);
  }
  const marks = Object.entries(state.marks);
  if (marks.length > SEQUENCE_LIMITS.marks) {
    // Forget the partitions that fed the key longest ago: their records are far behind the
    // partition marks ingest keeps, which skip them before they reach the matcher.
    marks.sort((a, b) => b[1][1] - a[1][1]);
    state.marks = Object.fromEntries(marks.slice(0, SEQUENCE_LIMITS.marks));
  }
}

/**
 * When the state can be forgotten (epoch ms): the longest D or `within` plus the delay after the
 * later of the key's latest event and the write. Counted from the event time alone, a replay of
 * data older than that would write items already expired, which TTL may delete mid-stream (the
 * loss docs/design.md, "Retention", describes for windows).
 */
export function expiresAt(group: SequenceGroup, state: KeyState, delayMs: number, writtenAt: number): number {
  let longest = group.maxWithinMs;
  for (const d of group.historyMs.values()) longest = Math.max(longest, d);
  return Math.max(state.maxTime, writtenAt) + longest + delayMs;
}
