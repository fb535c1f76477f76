/**
 * Window features and how each is kept in storage. A feature compiles to one or more slots; a slot
 * is a value that merges associatively and idempotently enough to live in one DynamoDB attribute:
 * a number added up, a set of strings unioned, or a set of candidate extremes whose least or
 * greatest member is the feature (DynamoDB has no MIN/MAX update, but adding to a number set does).
 *
 * A distinct feature is exact up to its cap (`exactUpTo`), then continues as a HyperLogLog
 * estimate (lib/windows/hll.ts), so a hot key's window item stays bounded (see the README,
 * "Pipelines").
 */
import { createHash } from 'node:crypto';
import { PipelineDefinitionError } from '../errors.ts';

export type SlotOp = 'add' | 'min' | 'max' | 'set';

/** One storage slot of a feature. `value` returns undefined to leave the event out. */
export interface Slot<E> {
  name: string;
  op: SlotOp;
  value: (event: E) => number | string | undefined;
  /** For a 'set' slot: distinct values kept exactly up to this many, then estimated. */
  exactUpTo?: number;
}

/**
 * A distinct feature past its cap, or (in results and alerts) any distinct feature: the count, whether
 * it is an estimate (within lib/windows/hll.ts's HLL_ERROR_BOUND), and some of the values.
 */
export interface DistinctSummary {
  count: number;
  approximate: boolean;
  sample: string[];
}

/** A feature's value: a number, the exact distinct values, a distinct summary, or null for none. */
export type FeatureValue = number | string[] | DistinctSummary | null;

/** The merged value of each slot, as read back from storage. */
export type SlotValues = Record<string, number | string[] | DistinctSummary | undefined>;

/**
 * How a feature's value can move as events are added to its window: `up` never decreases (counts,
 * distinct counts, maxima, sums of values that cannot be negative), `down` never increases (minima).
 * A feature without one (a mean, a sum of signed values) can move either way. Which rules fire
 * early is derived from this (lib/rules/early.ts); a feature must only claim what its slots
 * guarantee, since an early alert is never taken back.
 */
export type FeatureDirection = 'up' | 'down';

/** A feature: the slots it keeps and how its final value is read from them. */
export interface Feature<E> {
  slots(featureName: string): Slot<E>[];
  /** Set on a count of every event the pipeline keeps: an event lost or counted twice shows in it. */
  readonly countsEvents?: true;
  read(featureName: string, slots: SlotValues): FeatureValue;
  /** See FeatureDirection; absent: the value can move either way. */
  direction?: FeatureDirection;
}

/** Whether a feature value is a distinct summary (an estimate past the cap, or a bounded output). */
export function isDistinctSummary(v: unknown): v is DistinctSummary {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as DistinctSummary).count === 'number';
}

/** The number a feature value stands for in rules and rankings: a distinct feature's count. */
export function magnitudeOf(v: FeatureValue | undefined): number | null {
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) return v.length;
  if (isDistinctSummary(v)) return v.count;
  return null;
}

type Predicate<E> = (event: E) => boolean;
type NumberOf<E> = (event: E) => number | undefined;

function single<E>(op: SlotOp, value: Slot<E>['value'], direction: FeatureDirection | undefined): Feature<E> {
  const feature: Feature<E> = {
    slots: (name) => [{ name, op, value }],
    read: (name, slots) => slots[name] ?? (op === 'set' ? [] : op === 'add' ? 0 : null),
  };
  if (direction) feature.direction = direction;
  return feature;
}

/**
 * The value function of an unfiltered count: one per event. Shared, so the ingest fold knows it by
 * identity and adds the one without calling it (lib/ingest/fold.ts, compileSlots).
 */
export const ONE_PER_EVENT = (): number => 1;

/** Number of events in the window (optionally only those matching `where`). */
export function count<E>(where?: Predicate<E>): Feature<E> {
  if (where) return single('add', (e) => (where(e) ? 1 : undefined), 'up');
  return { ...single<E>('add', ONE_PER_EVENT, 'up'), countsEvents: true };
}

export interface SumOptions {
  /**
   * The summed values are never negative (e.g. amounts the schema or filter bounds at 0), so the sum
   * never decreases and rules on it may fire early. Enforced, not trusted: a negative value is a
   * RangeError, which quarantines its record (lib/ingest/isolate.ts) instead of lowering the sum.
   */
  nonNegative?: boolean;
}

/**
 * The value function of a sum declared non-negative: refuses a negative value, so the sum keeps
 * the direction it claims. @throws RangeError naming the feature and the value.
 */
export function refuseNegative<E>(of: NumberOf<E>, what: string): NumberOf<E> {
  return (e) => {
    const v = of(e);
    if (v !== undefined && v < 0) throw new RangeError(`${what} is declared nonNegative, but an event gives it ${v}`);
    return v;
  };
}

/** Sum of a numeric field; with `nonNegative`, one that never decreases (see SumOptions). */
export function sum<E>(of: NumberOf<E>, options: SumOptions = {}): Feature<E> {
  return options.nonNegative ? single('add', refuseNegative(of, 'a sum'), 'up') : single('add', of, undefined);
}

/** Least value of a numeric field; null for a window with none. */
export function min<E>(of: NumberOf<E>): Feature<E> {
  return single('min', of, 'down');
}

/** Greatest value of a numeric field; null for a window with none. */
export function max<E>(of: NumberOf<E>): Feature<E> {
  return single('max', of, 'up');
}

/** Mean of a numeric field, kept as a sum and a count; null for a window with none. */
export function mean<E>(of: NumberOf<E>): Feature<E> {
  return {
    slots: (name) => [
      { name: `${name}.sum`, op: 'add', value: of },
      { name: `${name}.n`, op: 'add', value: (e) => (of(e) === undefined ? undefined : 1) },
    ],
    read: (name, slots) => {
      const n = slots[`${name}.n`];
      const total = slots[`${name}.sum`];
      return typeof n === 'number' && n > 0 && typeof total === 'number' ? total / n : null;
    },
  };
}

/**
 * Default cap of a distinct feature. With values of at most MAX_DISTINCT_VALUE_BYTES, 500 values
 * are at most 64 KB: a pipeline's distinct features fit DISTINCT_BUDGET_BYTES (pipeline.ts checks).
 */
export const DEFAULT_EXACT_UP_TO = 500;

/** Hard ceiling of a cap: past it an exact set is no longer small next to the sketch it avoids. */
export const MAX_EXACT_UP_TO = 2000;

/**
 * Longest distinct value kept as it is, in UTF-8 bytes. A longer one is kept as its digest
 * (`sha256:<hex>`, 71 bytes), which counts the same; event fields are at most 256 characters
 * (768 bytes), so without this an exact set would not be bounded by its cap alone.
 */
export const MAX_DISTINCT_VALUE_BYTES = 128;

/** A value as a distinct set keeps it: itself, or its digest when longer than MAX_DISTINCT_VALUE_BYTES. */
export function distinctValueOf(v: string): string {
  // Three bytes per UTF-16 unit at most: short strings need no byte count.
  if (v.length * 3 <= MAX_DISTINCT_VALUE_BYTES || Buffer.byteLength(v, 'utf8') <= MAX_DISTINCT_VALUE_BYTES) return v;
  return `sha256:${createHash('sha256').update(v, 'utf8').digest('hex')}`;
}

/**
 * The field function of each distinct slot's value function, by that value function: the ingest
 * fold calls the field function and keeps its value as distinctValueOf would, one call fewer per
 * event and slot than the value function (lib/ingest/fold.ts). Same values either way.
 */
export const distinctFieldOf = new WeakMap<(event: never) => unknown, (event: unknown) => string | undefined>();

export interface DistinctOptions {
  /** Values counted exactly before the feature continues as an estimate (default DEFAULT_EXACT_UP_TO). */
  exactUpTo?: number;
}

/**
 * The distinct values of a field; its size is the distinct count. Exact up to `exactUpTo` values,
 * then an approximate count (a DistinctSummary flagged approximate) with the first values as a sample.
 */
export function distinct<E>(of: (event: E) => string | undefined, options: DistinctOptions = {}): Feature<E> {
  const exactUpTo = options.exactUpTo ?? DEFAULT_EXACT_UP_TO;
  if (!Number.isSafeInteger(exactUpTo) || exactUpTo < 1 || exactUpTo > MAX_EXACT_UP_TO) {
    throw new PipelineDefinitionError(`distinct(): exactUpTo must be a whole number from 1 to ${MAX_EXACT_UP_TO}, got ${exactUpTo}`);
  }
  const value = (e: E) => {
    const v = of(e);
    return v === undefined ? undefined : distinctValueOf(String(v));
  };
  distinctFieldOf.set(value, of as (event: unknown) => string | undefined);
  return {
    slots: (name) => [{ name, op: 'set', value, exactUpTo }],
    read: (name, slots) => slots[name] ?? [],
    // Exact: a set only grows. Past the cap the estimate never falls either: the switch reports at
    // least cap + 1 (features-of.ts), sketches merge by register maximum, and the estimator grows
    // with every register (test/unit/early-rules.test.ts checks it on random streams).
    direction: 'up',
  };
}
