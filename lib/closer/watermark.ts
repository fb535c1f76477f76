/**
 * The event-time watermark of a pipeline, from what its topic's partitions have shown.
 *
 * - `min` (Flink's policy, the default): the least of the active partitions' max event times,
 *   minus the delay. A partition whose max event time has not advanced for `idleTimeoutMs` of wall
 *   clock is idle and stops holding the watermark back. When every partition is idle the stream has
 *   gone quiet, and the greatest time seen counts, so the last windows still close.
 * - `max` (Spark's policy): the greatest max event time over all partitions, minus the delay.
 *
 * With `partitions` (the topic's partition count, when known), a partition that has not reported
 * yet holds the watermark back while any reported one is active: otherwise its first events could
 * find their windows closed by partitions that simply started sooner.
 *
 * With `backlog` (records per partition the topic's mapping has not committed yet, when it can be
 * told), a partition with records still to read is never idle, however long it has been quiet, and
 * one that has not reported but has records waiting holds the watermark back: a stalled partition
 * (throttled, retrying, its poller restarting) would otherwise let the watermark pass its pending
 * events, which would all be late (docs/design.md, "Watermark and closing").
 */

export type WatermarkPolicy = 'min' | 'max';

export interface PartitionMark {
  partition: number;
  maxEventTime: number;
  /** Wall-clock ms when maxEventTime last advanced. */
  advancedAt: number;
}

export interface WatermarkOptions {
  delayMs: number;
  idleTimeoutMs: number;
  policy: WatermarkPolicy;
  /** Partitions per source topic, where known (SOURCE_PARTITIONS). */
  partitions?: Readonly<Record<string, number>>;
}

/** Uncommitted records per partition of a topic. */
export type Backlog = ReadonlyMap<number, number>;

/** The watermark, or undefined while no partition has shown an event. */
export function watermarkOf(marks: readonly PartitionMark[], now: number, o: WatermarkOptions, topic?: string, backlog?: Backlog): number | undefined {
  if (marks.length === 0) return undefined;
  const greatest = Math.max(...marks.map((m) => m.maxEventTime));
  if (o.policy === 'max') return greatest - o.delayMs;
  if (backlog) {
    const reported = new Set(marks.map((m) => m.partition));
    for (const [partition, waiting] of backlog) if (waiting > 0 && !reported.has(partition)) return undefined;
  }
  const active = marks.filter((m) => now - m.advancedAt < o.idleTimeoutMs || (backlog?.get(m.partition) ?? 0) > 0);
  if (active.length === 0) return greatest - o.delayMs;
  const expected = topic === undefined ? undefined : o.partitions?.[topic];
  if (expected !== undefined && marks.length < expected) return undefined;
  return Math.min(...active.map((m) => m.maxEventTime)) - o.delayMs;
}
