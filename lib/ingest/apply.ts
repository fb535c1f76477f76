/**
 * The exactly-once write protocol for one aggregate, against any WindowStore:
 * write with "mark below my first offset"; if refused, the store's answer says what it holds:
 * a closed window (the rest is late), marks at or past every offset (a duplicate, skip), or marks
 * inside the batch (re-fold what lies above them and compare-and-set on the marks seen).
 */
import { TransientStoreError } from '../store/errors.ts';
import type { MarkGuard, SlotWrite, WindowStore } from '../store/ports.ts';
import { PlannedDelta, type SlotDelta } from './fold.ts';
import { refoldAbove, type Contribution, type OffsetRange, type WindowAggregate } from './plan.ts';

export type ApplyOutcome =
  | { status: 'applied'; events: number }
  | { status: 'partial'; events: number; skipped: number }
  | { status: 'duplicate'; skipped: number }
  | { status: 'late'; late: Contribution[]; skipped: number };

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

function writeOf(agg: WindowAggregate, delta: SlotDelta, offsets: OffsetRange[], guard: (range: OffsetRange) => MarkGuard) {
  return {
    pipeline: agg.pipeline.name,
    key: agg.key,
    windowStart: agg.windowStart,
    windowEnd: agg.windowEnd,
    slots: slotWrites(agg, delta),
    marks: offsets.map(guard),
  };
}

/** Applies one aggregate exactly once, however often its records have been delivered before. */
export async function applyAggregate(store: WindowStore, agg: WindowAggregate): Promise<ApplyOutcome> {
  const delta = agg.delta;
  let result = await store.write(writeOf(agg, delta, agg.offsets, (r) => ({ partitionId: r.partitionId, below: r.first, setTo: r.last })));
  if (result.applied) return { status: 'applied', events: delta.events };

  for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
    const marks = result.marks;
    const rest = refoldAbove(agg, marks);
    const skipped = agg.members.length - rest.contributions.length;
    if (result.closed) return { status: 'late', late: rest.contributions, skipped };
    if (rest.contributions.length === 0) return { status: 'duplicate', skipped };
    result = await store.write(
      writeOf(agg, rest.delta, rest.offsets, (r) => ({ partitionId: r.partitionId, equals: marks.get(r.partitionId) ?? null, setTo: r.last })),
    );
    if (result.applied) return { status: 'partial', events: rest.delta.events, skipped };
  }
  throw new TransientStoreError(`window ${agg.pipeline.name}/${agg.key}/${agg.windowStart}: offset marks kept moving under a concurrent writer`);
}
