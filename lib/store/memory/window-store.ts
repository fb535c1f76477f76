/** WindowStore in memory: the conditional window write of the DynamoDB adapter, on a map. */
import { RejectedWriteError } from '../errors.ts';
import type { MarkGuard, WindowStore, WindowWrite, WindowWriteResult } from '../ports.ts';
import { dueShardOf, windowPk } from '../tables.ts';
import { windowTtl } from '../retention.ts';
import type { MemoryTables, MemoryWindowItem } from './memory-tables.ts';

function guardHolds(guard: MarkGuard, marks: ReadonlyMap<string, number>): boolean {
  const mark = marks.get(guard.partitionId);
  if ('below' in guard) return mark === undefined || mark < guard.below;
  return guard.equals === null ? mark === undefined : mark === guard.equals;
}

export class MemoryWindowStore implements WindowStore {
  constructor(
    private readonly tables: MemoryTables,
    private readonly options: { retentionMs: number; now?: () => number },
  ) {}

  async write(w: WindowWrite): Promise<WindowWriteResult> {
    const pk = windowPk(w.pipeline, w.key);
    const existing = this.tables.window(pk, w.windowStart);
    const marks = existing?.marks ?? new Map<string, number>();
    if (existing?.closedAt !== undefined || !w.marks.every((g) => guardHolds(g, marks))) {
      return { applied: false, closed: existing?.closedAt !== undefined, marks: new Map(marks) };
    }
    // DynamoDB refuses an empty set in an update; so does this store, before changing anything.
    for (const slot of w.slots) {
      if (slot.op === 'set' && (slot.value as string[]).length === 0) {
        throw new RejectedWriteError(`window ${pk}/${w.windowStart}: an empty set for slot "${slot.name}"`);
      }
    }
    const item: MemoryWindowItem = existing ?? {
      pipeline: w.pipeline,
      key: w.key,
      windowStart: w.windowStart,
      windowEnd: w.windowEnd,
      dueShard: dueShardOf(w.pipeline, w.key),
      closedAt: undefined,
      ttl: windowTtl(w.windowEnd, (this.options.now ?? Date.now)(), this.options.retentionMs),
      slots: new Map(),
      marks: new Map(),
    };
    for (const slot of w.slots) {
      const stored = item.slots.get(slot.name);
      if (slot.op === 'add') item.slots.set(slot.name, ((stored as number | undefined) ?? 0) + (slot.value as number));
      else {
        const set = (stored as Set<number | string> | undefined) ?? new Set<number | string>();
        for (const v of slot.op === 'set' ? (slot.value as string[]) : [slot.value as number]) set.add(v);
        item.slots.set(slot.name, set as Set<number> | Set<string>);
      }
    }
    for (const g of w.marks) item.marks.set(g.partitionId, g.setTo);
    if (!existing) {
      let byStart = this.tables.windows.get(pk);
      if (!byStart) this.tables.windows.set(pk, (byStart = new Map()));
      byStart.set(w.windowStart, item);
    }
    return { applied: true };
  }
}
