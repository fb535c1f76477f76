/**
 * The exactly-once write protocol for one aggregate, against any WindowStore:
 * write with "mark below my first offset"; if refused, the store's answer says what it holds:
 * a closed window (the rest is late), marks at or past every offset (a duplicate, skip), or marks
 * inside the batch (re-fold what lies above them and compare-and-set on the marks seen).
 */
import type { FiredBy } from '../closer/ports.ts';
import { RejectedWriteError, TransientStoreError } from '../store/errors.ts';
import type { MarkGuard, SlotWrite, WindowStore } from '../store/ports.ts';
import type { StoredWindow } from '../windows/features-of.ts';
import { PlannedDelta, type SlotDelta } from './fold.ts';
import { contributionsOf, refoldAbove, type Contribution, type OffsetRange, type WindowAggregate } from './plan.ts';

/**
 * With `returnStored`, what the store answered the window holds (after the write that applied, or
 * as the refusal of a duplicate found it) and the partition and last offset of that write: the
 * state early rules are evaluated on (lib/ingest/early-alerts.ts). Never set for a closed window.
 */
export interface StoredAnswer {
  stored?: StoredWindow;
  firedBy?: FiredBy;
}

export type ApplyOutcome = StoredAnswer &
  (
    | { status: 'applied'; events: number; /** A write of this aggregate made the window item. */ created: boolean }
    | { status: 'partial'; events: number; skipped: number }
    | { status: 'duplicate'; skipped: number }
    | { status: 'late'; late: Contribution[]; skipped: number }
  );

export interface ApplyOptions {
  /** Ask the store for the window as stored (WindowWrite.returnStored). */
  returnStored?: boolean;
}

/** Compare-and-set rounds before giving up: only a concurrent writer on one partition moves marks. */
const MAX_CAS_ROUNDS = 5;

/** The slot writes a delta makes, leaving out slots nothing contributed to. */
export function slotWrites(agg: WindowAggregate, delta: SlotDelta): SlotWrite[] {
  const writes: SlotWrite[] = [];
  const slots = agg.pipeline.slots;
  if (delta instanceof PlannedDelta) {
    // Straight from the planner's store: distinct values come out as arrays, no Set in between.
    const { store, compiled, base } = delta;
    for (let i = 0; i < slots.length; i++) {
      const v = store.valueAt(compiled, i, base + i);
      if (v === undefined) continue;
      const slot = slots[i]!;
      writes.push(slot.exactUpTo === undefined ? { name: slot.name, op: slot.op, value: v } : { name: slot.name, op: slot.op, value: v, exactUpTo: slot.exactUpTo });
    }
  } else {
    for (let i = 0; i < slots.length; i++) {
      const v = delta.values[i];
      if (v === undefined) continue;
      const slot = slots[i]!;
      const value = v instanceof Set ? [...v] : v;
      writes.push(slot.exactUpTo === undefined ? { name: slot.name, op: slot.op, value } : { name: slot.name, op: slot.op, value, exactUpTo: slot.exactUpTo });
    }
  }
  if (delta.rejected > 0 && agg.pipeline.rejectedAs) writes.push({ name: agg.pipeline.rejectedAs, op: 'add', value: delta.rejected });
  return writes;
}

function writeOf(agg: WindowAggregate, delta: SlotDelta, offsets: OffsetRange[], guard: (range: OffsetRange) => MarkGuard, options: ApplyOptions) {
  return {
    pipeline: agg.pipeline.name,
    key: agg.key,
    windowStart: agg.windowStart,
    windowEnd: agg.windowEnd,
    slots: slotWrites(agg, delta),
    marks: offsets.map(guard),
    ...(agg.pipeline.window.kind === 'hopping' ? { bucketOfSizeMs: agg.pipeline.window.sizeMs } : {}),
    ...(options.returnStored ? { returnStored: true } : {}),
  };
}

/** The state a store answered with, and the write it answered (its last partition range). */
function answerOf(stored: StoredWindow | undefined, offsets: OffsetRange[]): StoredAnswer {
  const last = offsets.at(-1);
  return stored && last ? { stored, firedBy: { partitionId: last.partitionId, offset: last.last } } : {};
}

/**
 * Some partitions' share of a wide aggregate was refused for good while the rest was applied: only
 * `contributions` are to be quarantined.
 */
export class PartlyRejectedWriteError extends RejectedWriteError {
  constructor(
    message: string,
    readonly contributions: Contribution[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Applies one aggregate exactly once, however often its records have been delivered before.
 *
 * An aggregate fed by more partitions than the store can guard in one write (a hot key on a topic
 * of hundreds of partitions) is written in groups of partitions. Exactly-once holds per partition
 * mark: each group's write carries its own partitions' events and marks and nothing else, so it is
 * applied, skipped or re-folded on its own, whatever happened to the other groups (a crash between
 * them included: the redelivery finds the groups already written by their marks).
 */
export async function applyAggregate(store: WindowStore, agg: WindowAggregate, options: ApplyOptions = {}): Promise<ApplyOutcome> {
  const max = store.maxMarksPerWrite ?? Infinity;
  if (agg.offsets.length <= max) return applyWhole(store, agg, options);
  const outcomes: ApplyOutcome[] = [];
  const rejected: Contribution[] = [];
  let refusal: RejectedWriteError | undefined;
  for (const group of partitionGroups(agg, max)) {
    try {
      outcomes.push(await applyWhole(store, group, options));
    } catch (err) {
      // One group refused (say the item reached 400 KB) leaves the others to be applied.
      if (!(err instanceof RejectedWriteError)) throw err;
      refusal ??= err;
      rejected.push(...contributionsOf(group));
    }
  }
  if (refusal) throw new PartlyRejectedWriteError(refusal.message, rejected, { cause: refusal });
  return combine(outcomes);
}

/** The aggregate cut into aggregates of at most `max` partitions each, each with its own delta. */
function partitionGroups(agg: WindowAggregate, max: number): WindowAggregate[] {
  const groups: WindowAggregate[] = [];
  for (let i = 0; i < agg.offsets.length; i += max) {
    const offsets = agg.offsets.slice(i, i + max);
    const inGroup = new Set(offsets.map((r) => r.partitionId));
    const members = agg.members.filter((m) => inGroup.has(agg.batch.records[m >> 1]!.partitionId));
    const group: WindowAggregate = { pipeline: agg.pipeline, key: agg.key, windowStart: agg.windowStart, windowEnd: agg.windowEnd, delta: agg.delta, offsets, members, batch: agg.batch };
    // Folded again from the group's own events (decoded again: wide fan-in is rare, and off the hot path).
    group.delta = refoldAbove(group, new Map()).delta;
    groups.push(group);
  }
  return groups;
}

/** One outcome for the groups of a wide aggregate: late if any group was, partial unless all applied. */
function combine(outcomes: ApplyOutcome[]): ApplyOutcome {
  let events = 0;
  let skipped = 0;
  const late: Contribution[] = [];
  let lateSeen = false;
  let allApplied = true;
  let anyWritten = false;
  let created = false;
  // The latest answer is the fullest state: each group's write lands after the one before.
  let answer: StoredAnswer = {};
  for (const o of outcomes) {
    if (o.stored) answer = { stored: o.stored, firedBy: o.firedBy };
    if (o.status === 'applied' && o.created) created = true;
    if (o.status !== 'duplicate' && o.status !== 'late') {
      events += o.events;
      anyWritten = true;
    }
    if (o.status !== 'applied') {
      allApplied = false;
      skipped += o.skipped;
    }
    if (o.status === 'late') {
      lateSeen = true;
      late.push(...o.late);
    }
  }
  if (lateSeen) return { status: 'late', late, skipped };
  if (allApplied) return { status: 'applied', events, created, ...answer };
  return anyWritten ? { status: 'partial', events, skipped, ...answer } : { status: 'duplicate', skipped, ...answer };
}

/** The write protocol for an aggregate within the store's mark limit. */
async function applyWhole(store: WindowStore, agg: WindowAggregate, options: ApplyOptions): Promise<ApplyOutcome> {
  const delta = agg.delta;
  let result = await store.write(writeOf(agg, delta, agg.offsets, (r) => ({ partitionId: r.partitionId, below: r.first, setTo: r.last }), options));
  if (result.applied) return { status: 'applied', events: delta.events, created: result.created, ...answerOf(result.stored, agg.offsets) };

  for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
    const marks = result.marks;
    const rest = refoldAbove(agg, marks);
    const skipped = agg.members.length - rest.contributions.length;
    if (result.closed) return { status: 'late', late: rest.contributions, skipped };
    // The refusal's answer is the stored truth: an earlier delivery applied all of this, and may
    // have died before raising its early alerts, so they are evaluated on what is stored.
    if (rest.contributions.length === 0) return { status: 'duplicate', skipped, ...answerOf(result.stored, agg.offsets) };
    result = await store.write(
      writeOf(agg, rest.delta, rest.offsets, (r) => ({ partitionId: r.partitionId, equals: marks.get(r.partitionId) ?? null, setTo: r.last }), options),
    );
    if (result.applied) return { status: 'partial', events: rest.delta.events, skipped, ...answerOf(result.stored, rest.offsets) };
  }
  throw new TransientStoreError(`window ${agg.pipeline.name}/${agg.key}/${agg.windowStart}: offset marks kept moving under a concurrent writer`);
}
