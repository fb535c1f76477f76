/** How long stored items live (TTL), the same for every adapter (docs/design.md, "Retention"). */

/**
 * A window item's expiry (epoch seconds): retention after the window's end, but never before
 * retention after the write itself. Counted from the window end alone, a replay or backfill of
 * data older than the retention would write items already expired, which TTL may delete at any
 * moment: state lost silently while the windows are still being filled and closed.
 */
export function windowTtl(windowEnd: number, now: number, retentionMs: number): number {
  return Math.ceil((Math.max(windowEnd, now) + retentionMs) / 1000);
}
