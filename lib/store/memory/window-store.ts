/** WindowStore in memory: the conditional window write of the DynamoDB adapter, on a map. */
import { RejectedWriteError } from '../errors.ts';
import type { MarkGuard, WindowStore, WindowWrite, WindowWriteResult } from '../ports.ts';
import { windowPk } from '../tables.ts';
import { windowTtl } from '../retention.ts';
import { MAX_CANDIDATES } from '../bounds.ts';
import { HyperLogLog } from '../../windows/hll.ts';
import { storedWindowOf, type MemoryTables, type MemoryWindowItem } from './memory-tables.ts';

function guardHolds(guard: MarkGuard, marks: ReadonlyMap<string, number>): boolean {
  const mark = marks.get(guard.partitionId);
  if ('below' in guard) return mark === undefined || mark < guard.below;
  return guard.equals === null ? mark === undefined : mark === guard.equals;
}

/**
 * A distinct slot as the DynamoDB adapter keeps it (lib/store/dynamodb/slot-updates.ts): exact up to
 * its cap; past it the set keeps the values it had, filled up to the cap, and a sketch counts.
 */
function writeDistinct(item: MemoryWindowItem, name: string, values: string[], cap: number | undefined): void {
  const set = (item.slots.get(name) as Set<string> | undefined) ?? new Set<string>();
  item.slots.set(name, set);
  const sketch = item.sketches.get(name);
  if (sketch !== undefined) {
    const merged = HyperLogLog.fromBytes(sketch);
    merged.merge(HyperLogLog.of(values));
    item.sketches.set(name, merged.toBytes());
    return;
  }
  const fresh = values.filter((v) => !set.has(v));
  if (cap === undefined || set.size + fresh.length <= cap) {
    for (const v of fresh) set.add(v);
    return;
  }
  const all = [...set, ...fresh];
  for (const v of fresh.slice(0, cap - set.size)) set.add(v);
  item.sketches.set(name, HyperLogLog.of(all).toBytes());
}

/** A min/max slot as the DynamoDB adapter keeps it: at most MAX_CANDIDATES candidates, a full set replaced by a new extreme. */
function writeExtreme(item: MemoryWindowItem, name: string, op: 'min' | 'max', v: number): void {
  const set = (item.slots.get(name) as Set<number> | undefined) ?? new Set<number>();
  item.slots.set(name, set);
  if (set.size < MAX_CANDIDATES) {
    set.add(v);
    return;
  }
  const extreme = op === 'min' ? Math.min(...set) : Math.max(...set);
  if (op === 'min' ? v < extreme : v > extreme) item.slots.set(name, new Set([v]));
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
      const refused: WindowWriteResult = { applied: false, closed: existing?.closedAt !== undefined, marks: new Map(marks) };
      if (w.returnStored && existing) refused.stored = storedWindowOf(existing);
      return refused;
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
      // Listed on a due page by the batch, as on DynamoDB (docs/design.md, "Due pages").
      dueShard: undefined,
      closedAt: undefined,
      ttl: windowTtl(w.windowEnd, (this.options.now ?? Date.now)(), this.options.retentionMs),
      slots: new Map(),
      sketches: new Map(),
      marks: new Map(),
      version: 0,
      ...(w.bucketOfSizeMs !== undefined ? { bucketOfSizeMs: w.bucketOfSizeMs } : {}),
    };
    for (const slot of w.slots) {
      const stored = item.slots.get(slot.name);
      if (slot.op === 'add') item.slots.set(slot.name, ((stored as number | undefined) ?? 0) + (slot.value as number));
      else if (slot.op === 'set') writeDistinct(item, slot.name, slot.value as string[], slot.exactUpTo);
      else writeExtreme(item, slot.name, slot.op, slot.value as number);
    }
    for (const g of w.marks) item.marks.set(g.partitionId, g.setTo);
    item.version++;
    if (!existing) {
      let byStart = this.tables.windows.get(pk);
      if (!byStart) this.tables.windows.set(pk, (byStart = new Map()));
      byStart.set(w.windowStart, item);
    }
    return w.returnStored ? { applied: true, created: !existing, stored: storedWindowOf(item) } : { applied: true, created: !existing };
  }
}
