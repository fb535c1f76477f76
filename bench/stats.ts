/** Small arithmetic the sections share. */

/** Events per second from a count and milliseconds, rounded. */
export function perSecond(count: number, ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.round(count / (ms / 1000));
}

/** a / b rounded to `digits` (0 when b is 0). */
export function ratio(a: number, b: number, digits = 2): number {
  if (b === 0) return 0;
  const f = 10 ** digits;
  return Math.round((a / b) * f) / f;
}

/** The p-quantile (0..1) by the nearest-rank method; 0 for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Bytes to MB (2^20), one decimal. */
export function mb(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}
