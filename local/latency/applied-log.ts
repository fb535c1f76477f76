/**
 * When ingest had applied each record: the wall-clock end of the first successful invocation that
 * carried it (a partial success counts up to its resume offset). Ingest stores a partition's mark
 * before it answers, so this is when the closer could first see the record in the watermark. It
 * separates the closer's share of at-close latency from the mapping's (batching window, invocation).
 */
import type { InvocationEvent } from '../esm/event-source-mapping.ts';

interface Applied {
  /** The offsets that invocation applied. */
  from: number;
  through: number;
  at: number;
}

export class AppliedLog {
  private readonly byPartition = new Map<string, Applied[]>();
  /** Every invocation, whatever its outcome: its range and start. */
  private readonly invoked = new Map<string, Applied[]>();

  /** Notes one invocation's outcome (a mapping's `invocation` event), at `at` (wall-clock ms). */
  note(e: InvocationEvent, at: number): void {
    let all = this.invoked.get(e.partitionId);
    if (!all) this.invoked.set(e.partitionId, (all = []));
    all.push({ from: e.firstOffset, through: e.lastOffset, at: at - e.durationMs });
    const through = e.outcome === 'success' ? e.lastOffset : e.outcome === 'partial' && e.resumeOffset !== undefined ? e.resumeOffset - 1 : undefined;
    if (through === undefined || through < e.firstOffset) return;
    let list = this.byPartition.get(e.partitionId);
    if (!list) this.byPartition.set(e.partitionId, (list = []));
    list.push({ from: e.firstOffset, through, at });
  }

  /**
   * When the first invocation that carried the record at `offset` of `partitionId` started,
   * whatever its outcome (an early alert can be recorded by an invocation that fails later);
   * undefined if none was seen. What comes before is the mapping's share of latency.
   */
  invokedAt(partitionId: string, offset: number): number | undefined {
    return firstCarrying(this.invoked.get(partitionId), offset);
  }

  /** When the record at `offset` of `partitionId` was first applied; undefined if never seen applied. */
  appliedAt(partitionId: string, offset: number): number | undefined {
    return firstCarrying(this.byPartition.get(partitionId), offset);
  }
}

/** The earliest `at` of the ranges holding `offset`: a retried or redelivered range comes again later, the first time counts. */
function firstCarrying(list: readonly Applied[] | undefined, offset: number): number | undefined {
  let best: number | undefined;
  for (const a of list ?? []) if (a.from <= offset && offset <= a.through && (best === undefined || a.at < best)) best = a.at;
  return best;
}
