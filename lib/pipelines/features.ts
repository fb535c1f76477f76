/**
 * Window features and how each is kept in storage. A feature compiles to one or more slots; a slot
 * is a value that merges associatively and idempotently enough to live in one DynamoDB attribute:
 * a number added up, a set of strings unioned, or a set of candidate extremes whose least or
 * greatest member is the feature (DynamoDB has no MIN/MAX update, but adding to a number set does).
 */

export type SlotOp = 'add' | 'min' | 'max' | 'set';

/** One storage slot of a feature. `value` returns undefined to leave the event out. */
export interface Slot<E> {
  name: string;
  op: SlotOp;
  value: (event: E) => number | string | undefined;
}

/** The merged value of each slot, as read back from storage. */
export type SlotValues = Record<string, number | string[] | undefined>;

/** A feature: the slots it keeps and how its final value is read from them. */
export interface Feature<E> {
  slots(featureName: string): Slot<E>[];
  read(featureName: string, slots: SlotValues): number | string[] | null;
}

type Predicate<E> = (event: E) => boolean;
type NumberOf<E> = (event: E) => number | undefined;

function single<E>(op: SlotOp, value: Slot<E>['value']): Feature<E> {
  return {
    slots: (name) => [{ name, op, value }],
    read: (name, slots) => slots[name] ?? (op === 'set' ? [] : op === 'add' ? 0 : null),
  };
}

/** Number of events in the window (optionally only those matching `where`). */
export function count<E>(where?: Predicate<E>): Feature<E> {
  return single('add', where ? (e) => (where(e) ? 1 : undefined) : () => 1);
}

/** Sum of a numeric field. */
export function sum<E>(of: NumberOf<E>): Feature<E> {
  return single('add', of);
}

/** Least value of a numeric field; null for a window with none. */
export function min<E>(of: NumberOf<E>): Feature<E> {
  return single('min', of);
}

/** Greatest value of a numeric field; null for a window with none. */
export function max<E>(of: NumberOf<E>): Feature<E> {
  return single('max', of);
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

/** The distinct values of a field; its size is the distinct count. */
export function distinct<E>(of: (event: E) => string | undefined): Feature<E> {
  return single('set', of);
}
