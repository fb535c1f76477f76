/** CloserStore in memory: partition marks, the due index (a filter over open windows) and closing. */
import { StoreInconsistencyError } from '../errors.ts';
import { UnclosableWindowError, type CloserStore, type DueCursor, type DueWindow, type QuietClose, type WindowVerdict } from '../../closer/ports.ts';
import type { PartitionMark } from '../../closer/watermark.ts';
import type { StoredWindow } from '../../windows/features-of.ts';
import { windowPk } from '../tables.ts';
import type { StoredBucket } from '../ports.ts';
import { MemoryBucketReader } from './bucket-reader.ts';
import { storedWindowOf, type MemoryTables, type MemoryWindowItem } from './memory-tables.ts';

function recordVerdict(item: MemoryWindowItem, verdict: WindowVerdict | undefined): void {
  if (!verdict) return;
  item.evaluatedAt = verdict.evaluatedAt;
  if (verdict.level !== undefined) item.level = verdict.level;
}

/** The index's order: window end, then the item's key, so a cursor is a position in it. */
const order = (a: MemoryWindowItem, b: MemoryWindowItem) =>
  a.windowEnd - b.windowEnd || (a.pipeline + a.key < b.pipeline + b.key ? -1 : a.pipeline + a.key > b.pipeline + b.key ? 1 : a.windowStart - b.windowStart);

export class MemoryCloserStore implements CloserStore {
  private readonly reader: MemoryBucketReader;

  constructor(private readonly tables: MemoryTables) {
    this.reader = new MemoryBucketReader(tables);
  }

  buckets(pipeline: string, key: string, from: number, to: number): Promise<StoredBucket[]> {
    return this.reader.buckets(pipeline, key, from, to);
  }

  async advanceBucket(w: DueWindow, evaluatedThrough: number): Promise<void> {
    const item = this.tables.window(windowPk(w.pipeline, w.key), w.windowStart);
    if (item?.closedAt === undefined) throw new StoreInconsistencyError(`bucket ${w.pipeline}/${w.key}/${w.windowStart} cannot advance: it is not closed`);
    item.evaluatedThrough = Math.max(item.evaluatedThrough ?? -Infinity, evaluatedThrough);
  }

  async partitionMarks(topic: string): Promise<PartitionMark[]> {
    return [...(this.tables.partitionMarks.get(topic)?.values() ?? [])].map((m) => ({ partition: m.partition, maxEventTime: m.maxEventTime, advancedAt: m.advancedAt }));
  }

  async dueWindows(pipeline: string, shard: number, upTo: number, limit: number, after?: DueCursor): Promise<{ windows: DueWindow[]; next?: DueCursor }> {
    const shardId = `${pipeline}#${shard}`;
    const due = [...this.tables.allWindows()].filter((w) => w.dueShard === shardId && w.windowEnd <= upTo).sort(order);
    const from = after ? due.findIndex((w) => order(w, after as unknown as MemoryWindowItem) > 0) : 0;
    const page = from < 0 ? [] : due.slice(from, from + limit);
    const windows = page.map((w) => ({ pipeline, key: w.key, windowStart: w.windowStart, windowEnd: w.windowEnd }));
    const last = page.at(-1);
    // Like DynamoDB with Limit: a full page names where it ended, even when nothing follows.
    return last && page.length === limit ? { windows, next: { pipeline: last.pipeline, key: last.key, windowStart: last.windowStart, windowEnd: last.windowEnd } } : { windows };
  }

  async close(w: DueWindow, now: number): Promise<{ window: StoredWindow; closedNow: boolean }> {
    const item = this.tables.window(windowPk(w.pipeline, w.key), w.windowStart);
    if (!item) throw new UnclosableWindowError(`window ${w.pipeline}/${w.key}/${w.windowStart} is in the due index but not in the table`);
    if (item.closedAt !== undefined) return { window: storedWindowOf(item), closedNow: false };
    item.closedAt = now;
    return { window: storedWindowOf(item), closedNow: true };
  }

  async read(w: DueWindow): Promise<StoredWindow | undefined> {
    const item = this.tables.window(windowPk(w.pipeline, w.key), w.windowStart);
    return item ? storedWindowOf(item) : undefined;
  }

  async closeQuietly(w: DueWindow, version: number, now: number, verdict?: WindowVerdict): Promise<QuietClose> {
    const item = this.tables.window(windowPk(w.pipeline, w.key), w.windowStart);
    if (!item) throw new UnclosableWindowError(`window ${w.pipeline}/${w.key}/${w.windowStart} is in the due index but not in the table`);
    if (item.closedAt !== undefined) return 'closed-before';
    if (item.version !== version) return 'changed';
    item.closedAt = now;
    item.dueShard = undefined;
    recordVerdict(item, verdict);
    return 'closed';
  }

  async finish(w: DueWindow, verdict?: WindowVerdict): Promise<void> {
    const item = this.tables.window(windowPk(w.pipeline, w.key), w.windowStart);
    if (item?.closedAt === undefined) throw new StoreInconsistencyError(`window ${w.pipeline}/${w.key}/${w.windowStart} cannot finish: it is not closed`);
    item.dueShard = undefined;
    recordVerdict(item, verdict);
  }

  async setAside(w: DueWindow, now: number): Promise<void> {
    const item = this.tables.window(windowPk(w.pipeline, w.key), w.windowStart);
    if (!item) return;
    item.closedAt ??= now;
    item.setAsideAt = now;
    item.dueShard = undefined;
  }

  async saveWatermark(pipeline: string, watermark: number): Promise<number> {
    const stored = Math.max(watermark, this.tables.pipelineWatermarks.get(pipeline) ?? -Infinity);
    this.tables.pipelineWatermarks.set(pipeline, stored);
    return stored;
  }
}
