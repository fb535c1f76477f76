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

  /** Notes one invocation's outcome (a mapping's `invocation` event), at `at` (wall-clock ms). */
  note(e: InvocationEvent, at: number): void {
    const through = e.outcome === 'success' ? e.lastOffset : e.outcome === 'partial' && e.resumeOffset !== undefined ? e.resumeOffset - 1 : undefined;
    if (through === undefined || through < e.firstOffset) return;
    let list = this.byPartition.get(e.partitionId);
    if (!list) this.byPartition.set(e.partitionId, (list = []));
    list.push({ from: e.firstOffset, through, at });
  }

  /** When the record at `offset` of `partitionId` was first applied; undefined if never seen applied. */
  appliedAt(partitionId: string, offset: number): number | undefined {
    let best: number | undefined;
    for (const a of this.byPartition.get(partitionId) ?? []) {
      // A retried or redelivered range is applied again later: the first time counts.
      if (a.from <= offset && offset <= a.through && (best === undefined || a.at < best)) best = a.at;
    }
    return best;
  }
}
