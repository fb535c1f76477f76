/**
 * Folding events into slot values: the arithmetic of pre-aggregation, written once (SlotStore.fold)
 * for every path: the planner's hot loop, re-folds after a partial overlap, and the bench baselines
 * (DeltaFolder). The stores apply the folded values to items by their own contract (lib/store).
 */
import { distinctFieldOf, distinctValueOf, MAX_DISTINCT_VALUE_BYTES, ONE_PER_EVENT, type SlotOp } from '../pipelines/features.ts';
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

const ADD = 0;
const MIN = 1;
const MAX = 2;
const SET = 3;
/** An add of ONE_PER_EVENT: its value is known, so the fold adds it without the call. */
const ADD_ONE = 4;
/** A distinct() slot folded from its field function (distinctFieldOf), kept as distinctValueOf keeps it. */
const SET_FIELD = 5;
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
    const field = slot.op === 'set' ? distinctFieldOf.get(slot.value) : undefined;
    ops[i] = slot.op === 'add' && slot.value === ONE_PER_EVENT ? ADD_ONE : field !== undefined ? SET_FIELD : OP_CODES[slot.op];
    values.push(field ?? slot.value);
  });
  return { ops, values, length: ops.length };
}

/** Compiled slots by pipeline: a pipeline's slots never change, so each is compiled once. */
const compiledByPipeline = new WeakMap<Pipeline, CompiledSlots>();

/** compileSlots, once per pipeline. */
export function compiledSlotsOf(pipeline: Pipeline): CompiledSlots {
  let compiled = compiledByPipeline.get(pipeline);
  if (compiled === undefined) compiledByPipeline.set(pipeline, (compiled = compileSlots(pipeline)));
  return compiled;
}

/** The distinct values of a chain (oldest first), in first-seen order, as `[...new Set(values)]`. */
function distinctValues(values: string[]): string[] {
  // A chain never repeats its first value nor the value just before, so two values are distinct.
  if (values.length <= 2) return values;
  if (values.length > 16) return [...new Set(values)];
  const out: string[] = [];
  for (const v of values) if (!out.includes(v)) out.push(v);
  return out;
}

/**
 * The slot values of many deltas, flat: numbers in one Float64Array (with presence flags), distinct
 * values as a chain of values in shared arrays (the first value's place kept, so a repeat of it or
 * of the newest is not chained again), deduplicated only when read. Folding allocates nothing per
 * event or delta (arrays grow amortised), and reserving room for a delta writes nothing.
 */
export class SlotStore {
  /** Numeric slots; for a distinct slot, the newest entry of its chain (1-based, 0: none). */
  nums: Float64Array;
  /** 1 when the slot holds a value. */
  has: Uint8Array;
  /** For a distinct slot, the entry of its first value (1-based). */
  firstAt: Int32Array;
  /** Values of distinct slots, each linking to the one folded before it (1-based, 0: none). */
  chainValue: string[] = [];
  chainNext: number[] = [];
  size = 0;

  constructor(capacity = 4096) {
    [this.nums, this.firstAt, this.has] = SlotStore.arrays(capacity);
  }

  /** The three per-slot arrays, in one allocation (zeroed). */
  private static arrays(capacity: number): [Float64Array, Int32Array, Uint8Array] {
    const buffer = new ArrayBuffer(capacity * 13);
    return [new Float64Array(buffer, 0, capacity), new Int32Array(buffer, capacity * 8, capacity), new Uint8Array(buffer, capacity * 12, capacity)];
  }

  /** Room for one delta's slots; returns its base index. */
  reserve(n: number): number {
    const base = this.size;
    const size = base + n;
    if (size > this.nums.length) {
      const [nums, firstAt, has] = SlotStore.arrays(Math.max(size, this.nums.length * 2));
      nums.set(this.nums);
      firstAt.set(this.firstAt);
      has.set(this.has);
      this.nums = nums;
      this.firstAt = firstAt;
      this.has = has;
    }
    this.size = size;
    return base;
  }

  /** Folds one kept event into the slots at `base`: add, min, max, or distinct values. */
  fold(compiled: CompiledSlots, base: number, event: unknown): void {
    const { ops, values } = compiled;
    const nums = this.nums;
    const has = this.has;
    for (let i = 0; i < compiled.length; i++) {
      const op = ops[i];
      if (op === ADD_ONE) {
        const j = base + i;
        nums[j] = (has[j] === 1 ? nums[j]! : 0) + 1;
        has[j] = 1;
        continue;
      }
      const v = values[i]!(event);
      if (v === undefined) continue;
      const j = base + i;
      switch (op) {
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
          // A SET_FIELD value is kept as distinct()'s value function keeps it: a short string as it
          // is (nearly every value, and no call), anything else by distinctValueOf.
          let s: string;
          if (op === SET) s = typeof v === 'string' ? v : String(v);
          else s = typeof v === 'string' && v.length * 3 <= MAX_DISTINCT_VALUE_BYTES ? v : distinctValueOf(String(v));
          const chainValue = this.chainValue;
          if (has[j] === 0) {
            chainValue.push(s);
            this.chainNext.push(0);
            nums[j] = chainValue.length;
            this.firstAt[j] = chainValue.length;
            has[j] = 1;
          } else {
            const newest = nums[j]!;
            if (chainValue[newest - 1] !== s && chainValue[this.firstAt[j]! - 1] !== s) {
              chainValue.push(s);
              this.chainNext.push(newest);
              nums[j] = chainValue.length;
            }
          }
        }
      }
    }
  }

  /** A distinct slot's values in first-seen order, deduplicated (a new array). */
  distinctAt(j: number): string[] {
    const newest = this.nums[j]!;
    const older = this.chainNext[newest - 1]!;
    // One or two values (most windows of a batch): distinct by construction.
    if (older === 0) return [this.chainValue[newest - 1]!];
    if (this.chainNext[older - 1] === 0) return [this.chainValue[older - 1]!, this.chainValue[newest - 1]!];
    const chain: string[] = [];
    for (let c = this.nums[j]!; c !== 0; c = this.chainNext[c - 1]!) chain.push(this.chainValue[c - 1]!);
    chain.reverse();
    return distinctValues(chain);
  }

  /** The value of slot `j` as a write carries it: a number, distinct values, or undefined when none. */
  valueAt(compiled: CompiledSlots, i: number, j: number): number | string[] | undefined {
    if (this.has[j] === 0) return undefined;
    const op = compiled.ops[i];
    return op === SET || op === SET_FIELD ? this.distinctAt(j) : this.nums[j]!;
  }

  /** The delta folded at `base`, in SlotDelta's shape (its values built when first read). */
  deltaAt(compiled: CompiledSlots, base: number, events: number, rejected: number): PlannedDelta {
    return new PlannedDelta(this, compiled, base, events, rejected);
  }
}

/**
 * A delta folded in a SlotStore: `values` (with Sets in first-seen order)
 * is built only when read; writes are built from the store directly (slotWrites), without Sets.
 */
export class PlannedDelta implements SlotDelta {
  private built: SlotDelta['values'] | undefined = undefined;

  constructor(
    readonly store: SlotStore,
    readonly compiled: CompiledSlots,
    readonly base: number,
    readonly events: number,
    readonly rejected: number,
  ) {}

  get values(): SlotDelta['values'] {
    if (this.built === undefined) {
      const values: SlotDelta['values'] = [];
      for (let i = 0; i < this.compiled.length; i++) {
        const v = this.store.valueAt(this.compiled, i, this.base + i);
        values.push(Array.isArray(v) ? new Set(v) : v);
      }
      this.built = values;
    }
    return this.built;
  }
}

/**
 * One delta folded on its own, off the hot path (re-folds, benchmarks): events in, a SlotDelta out,
 * by the same SlotStore.fold the planner uses. Folders may share a store (one per batch).
 */
export class DeltaFolder {
  private readonly compiled: CompiledSlots;
  private readonly base: number;
  private events = 0;
  private rejected = 0;

  constructor(
    pipeline: Pipeline,
    private readonly store: SlotStore = new SlotStore(Math.max(1, pipeline.slots.length)),
  ) {
    this.compiled = compiledSlotsOf(pipeline);
    this.base = store.reserve(this.compiled.length);
  }

  /** Adds one event: folded into the slots when the pipeline's filter kept it, else counted as rejected. */
  add(event: unknown, kept: boolean): void {
    this.events++;
    if (kept) this.store.fold(this.compiled, this.base, event);
    else this.rejected++;
  }

  /** The delta folded so far (read it once done: it is a view of the store at this moment's counts). */
  delta(): PlannedDelta {
    return this.store.deltaAt(this.compiled, this.base, this.events, this.rejected);
  }
}
