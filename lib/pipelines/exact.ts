/**
 * Sums that do not depend on how batches were cut. A double sum does: 0.1 + 0.2 is
 * 0.30000000000000004 when both land in one batch and 0.3 when DynamoDB adds them from two. So
 * these features keep a sum as a whole number of millionths: every value is already rounded to
 * six decimal places by the schemas (lib/schemas/fields.ts, DECIMAL_PLACES), its millionths are an
 * integer, a batch adds integers (exact in a double up to 2^53), and DynamoDB adds integers
 * exactly (38 digits). The stored slot is named `<feature>.e6` and holds millionths; the feature
 * reads it back divided by 10^6.
 *
 * Limit: a batch's part of one window's sum is exact while it stays within ±2^53 millionths
 * (±9,007,199,254.740991); beyond, it is rounded to a double like any double sum.
 */
import { refuseNegative, type Feature, type SumOptions } from './features.ts';

const SCALE = 1e6;

/** Millionths of a value already rounded to six places (exact: the product is within an ulp of an integer). */
function millionths(v: number | undefined): number | undefined {
  return v === undefined ? undefined : Math.round(v * SCALE);
}

/**
 * Sum of a numeric field, exact to the millionth whatever the batches (see above); with
 * `nonNegative`, one that never decreases (a negative value quarantines its record, see SumOptions).
 */
export function exactSum<E>(of: (event: E) => number | undefined, options: SumOptions = {}): Feature<E> {
  const value = options.nonNegative ? refuseNegative(of, 'an exact sum') : of;
  const feature: Feature<E> = {
    slots: (name) => [{ name: `${name}.e6`, op: 'add', value: (e) => millionths(value(e)) }],
    read: (name, slots) => {
      const total = slots[`${name}.e6`];
      return typeof total === 'number' ? total / SCALE : 0;
    },
  };
  if (options.nonNegative) feature.direction = 'up';
  return feature;
}

/** Mean of a numeric field, from an exact sum (as exactSum) and a count; null for a window with none. */
export function exactMean<E>(of: (event: E) => number | undefined): Feature<E> {
  return {
    slots: (name) => [
      { name: `${name}.sum.e6`, op: 'add', value: (e) => millionths(of(e)) },
      { name: `${name}.n`, op: 'add', value: (e) => (of(e) === undefined ? undefined : 1) },
    ],
    read: (name, slots) => {
      const n = slots[`${name}.n`];
      const total = slots[`${name}.sum.e6`];
      return typeof n === 'number' && n > 0 && typeof total === 'number' ? total / SCALE / n : null;
    },
  };
}
