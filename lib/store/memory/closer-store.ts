/** CloserStore in memory: partition marks, the due index (a filter over open windows) and closing. */
import { StoreInconsistencyError } from '../errors.ts';
import { UnclosableWindowError, type CloserStore, type DueCursor, type DueEntry, type DuePageEntry, type DueWindow, type QuietClose, type WindowVerdict } from '../../closer/ports.ts';
import type { PartitionMark } from '../../closer/watermark.ts';
import type { StoredWindow } from '../../windows/features-of.ts';
import { duePageShardOf, windowPk } from '../tables.ts';
import type { StoredBucket } from '../ports.ts';
import { MemoryBucketReader } from './bucket-reader.ts';
import { storedWindowOf, type MemoryTables, type MemoryWindowItem } from './memory-tables.ts';

function recordVerdict(item: MemoryWindowItem, verdict: WindowVerdict | undefined): void {
  if (!verdict) return;
  item.evaluatedAt = verdict.evaluatedAt;
  if (verdict.level !== undefined) item.level = verdict.level;
}

/** An index row: a window's own entry or a due page, by its end and its item's (pk, sk). */
interface Row {
  windowEnd: number;
  pk: string;
  sk: number;
}

/** The index's order: window end, then the item's key, so a cursor is a position in it. */
const order = (a: Row, b: Row) => a.windowEnd - b.windowEnd || (a.pk < b.pk ? -1 : a.pk > b.pk ? 1 : a.sk - b.sk);

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
    item.dueShard ??= duePageShardOf(w.pipeline, w.key);
  }

  async partitionMarks(topic: string): Promise<PartitionMark[]> {
    return [...(this.tables.partitionMarks.get(topic)?.values() ?? [])].map((m) => ({ partition: m.partition, maxEventTime: m.maxEventTime, advancedAt: m.advancedAt }));
  }

  async dueWindows(pipeline: string, shard: number, upTo: number, limit: number, after?: DueCursor): Promise<{ windows: DueEntry[]; next?: DueCursor }> {
    const shardId = `${pipeline}#${shard}`;
    const rows: (Row & { entry: DueEntry })[] = [];
    for (const w of this.tables.allWindows()) {
      if (w.dueShard !== shardId || w.windowEnd > upTo) continue;
      rows.push({ windowEnd: w.windowEnd, pk: windowPk(w.pipeline, w.key), sk: w.windowStart, entry: { pipeline, key: w.key, windowStart: w.windowStart, windowEnd: w.windowEnd } });
    }
    for (const p of this.tables.duePages.values()) {
      if (p.dueShard !== shardId || p.windowEnd > upTo) continue;
      rows.push({ windowEnd: p.windowEnd, pk: p.pk, sk: p.sk, entry: { pipeline, windowEnd: p.windowEnd, page: { pk: p.pk, sk: p.sk } } });
    }
    rows.sort(order);
    const from = after ? rows.findIndex((r) => order(r, after as unknown as Row) > 0) : 0;
    const page = from < 0 ? [] : rows.slice(from, from + limit);
    const windows = page.map((r) => r.entry);
    const last = page.at(-1);
    // Like DynamoDB with Limit: a full page names where it ended, even when nothing follows.
    return last && page.length === limit ? { windows, next: { windowEnd: last.windowEnd, pk: last.pk, sk: last.sk } } : { windows };
  }

  async readDuePage(entry: DuePageEntry): Promise<DueWindow[] | undefined> {
    const page = this.tables.duePages.get(`${entry.page.pk}#${entry.page.sk}`);
    return page?.windows.map((w) => ({ pipeline: entry.pipeline, key: w.key, windowStart: w.windowStart, windowEnd: entry.windowEnd }));
  }

  async deleteDuePage(entry: DuePageEntry): Promise<void> {
    this.tables.duePages.delete(`${entry.page.pk}#${entry.page.sk}`);
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
    item.finishedAt = now;
    item.dueShard = undefined;
    recordVerdict(item, verdict);
    return 'closed';
  }

  async finish(w: DueWindow, verdict: WindowVerdict | undefined, now: number): Promise<void> {
    const item = this.tables.window(windowPk(w.pipeline, w.key), w.windowStart);
    if (item?.closedAt === undefined) throw new StoreInconsistencyError(`window ${w.pipeline}/${w.key}/${w.windowStart} cannot finish: it is not closed`);
    item.finishedAt = now;
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
