/** Folding events into slot values: the arithmetic of pre-aggregation, shared by every path. */
import type { SlotOp } from '../pipelines/features.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';

/**
 * Slot values folded from some events, aligned with `pipeline.slots`; `rejected` counts events the
 * pipeline's filter turned away (only kept when the pipeline has `rejectedAs`).
 */
export interface SlotDelta {
  values: (number | Set<string> | undefined)[];
  rejected: number;
  events: number;
}

export function emptyDelta(pipeline: Pipeline): SlotDelta {
  const values: SlotDelta['values'] = [];
  for (let i = 0; i < pipeline.slots.length; i++) values.push(undefined);
  return { values, rejected: 0, events: 0 };
}

/** Adds one kept event to a delta. */
export function foldKept(pipeline: Pipeline, delta: SlotDelta, event: unknown): void {
  const slots = pipeline.slots;
  delta.events++;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    const v = slot.value(event);
    if (v === undefined) continue;
    const current = delta.values[i];
    switch (slot.op) {
      case 'add':
        delta.values[i] = ((current as number | undefined) ?? 0) + (v as number);
        break;
      case 'min':
        if (current === undefined || (v as number) < (current as number)) delta.values[i] = v as number;
        break;
      case 'max':
        if (current === undefined || (v as number) > (current as number)) delta.values[i] = v as number;
        break;
      case 'set':
        if (current === undefined) delta.values[i] = new Set([String(v)]);
        else (current as Set<string>).add(String(v));
        break;
    }
  }
}

/** Adds one event the pipeline's filter rejected. */
export function foldRejected(delta: SlotDelta): void {
  delta.events++;
  delta.rejected++;
}

const ADD = 0;
const MIN = 1;
const MAX = 2;
const SET = 3;
const OP_CODES: Record<SlotOp, number> = { add: ADD, min: MIN, max: MAX, set: SET };

/** A pipeline's slots as the inline fold wants them: op codes and value functions in flat arrays. */
export interface CompiledSlots {
  ops: Uint8Array;
  values: ((event: unknown) => number | string | undefined)[];
  length: number;
}

export function compileSlots(pipeline: Pipeline): CompiledSlots {
  const ops = new Uint8Array(pipeline.slots.length);
  const values: CompiledSlots['values'] = [];
  pipeline.slots.forEach((slot, i) => {
    ops[i] = OP_CODES[slot.op];
    values.push(slot.value);
  });
  return { ops, values, length: ops.length };
}

/**
 * The slot values of many deltas, flat: numbers in one Float64Array (with presence flags), distinct
 * values as their first value plus a chain of later ones in shared arrays, deduplicated into a Set
 * only when the delta is built. Folding allocates nothing per event or delta (arrays grow amortised).
 */
export class SlotStore {
  /** Numeric slots; for a distinct slot, the newest entry of its chain (1-based, 0: none). */
  nums = new Float64Array(4096);
  has = new Uint8Array(4096);
  /** A distinct slot's first value. */
  first: (string | undefined)[] = [];
  /** Later values of distinct slots, each linking to the one folded before it (1-based, 0: none). */
  chainValue: string[] = [];
  chainNext: number[] = [];
  size = 0;

  /** Room for one delta's slots; returns its base index. */
  reserve(n: number): number {
    const base = this.size;
    const size = base + n;
    if (size > this.nums.length) {
      const capacity = Math.max(size, this.nums.length * 2);
      const nums = new Float64Array(capacity);
      nums.set(this.nums);
      const has = new Uint8Array(capacity);
      has.set(this.has);
      this.nums = nums;
      this.has = has;
    }
    for (let i = 0; i < n; i++) this.first.push(undefined);
    this.size = size;
    return base;
  }

  /** foldKept, into the slots at `base`. */
  fold(compiled: CompiledSlots, base: number, event: unknown): void {
    const { ops, values } = compiled;
    const nums = this.nums;
    const has = this.has;
    for (let i = 0; i < compiled.length; i++) {
      const v = values[i]!(event);
      if (v === undefined) continue;
      const j = base + i;
      switch (ops[i]) {
        case ADD:
          nums[j] = (has[j] === 1 ? nums[j]! : 0) + (v as number);
          has[j] = 1;
          break;
        case MIN:
          if (has[j] === 0 || (v as number) < nums[j]!) {
            nums[j] = v as number;
            has[j] = 1;
          }
          break;
        case MAX:
          if (has[j] === 0 || (v as number) > nums[j]!) {
            nums[j] = v as number;
            has[j] = 1;
          }
          break;
        default: {
          const s = String(v);
          const first = this.first[j];
          if (first === undefined) this.first[j] = s;
          else if (first !== s) {
            const newest = nums[j]!;
            if (newest === 0 || this.chainValue[newest - 1] !== s) {
              this.chainValue.push(s);
              this.chainNext.push(newest);
              nums[j] = this.chainValue.length;
            }
          }
        }
      }
    }
  }

  /** The delta folded at `base`, in SlotDelta's shape (Sets in first-seen order, as foldKept makes them). */
  deltaAt(compiled: CompiledSlots, base: number, events: number, rejected: number): SlotDelta {
    const values: SlotDelta['values'] = [];
    for (let i = 0; i < compiled.length; i++) {
      const j = base + i;
      if (compiled.ops[i] === SET) {
        const first = this.first[j];
        if (first === undefined) {
          values.push(undefined);
          continue;
        }
        const later: string[] = [];
        for (let c = this.nums[j]!; c !== 0; c = this.chainNext[c - 1]!) later.push(this.chainValue[c - 1]!);
        const set = new Set([first]);
        for (let k = later.length - 1; k >= 0; k--) set.add(later[k]!);
        values.push(set);
      } else {
        values.push(this.has[j] === 1 ? this.nums[j]! : undefined);
      }
    }
    return { values, rejected, events };
  }
}
