/** BucketReader in memory: a range of a key's window items, oldest first. */
import type { BucketReader, StoredBucket } from '../ports.ts';
import { windowPk } from '../tables.ts';
import { storedWindowOf, type MemoryTables } from './memory-tables.ts';

export class MemoryBucketReader implements BucketReader {
  constructor(private readonly tables: MemoryTables) {}

  async buckets(pipeline: string, key: string, from: number, to: number): Promise<StoredBucket[]> {
    const byStart = this.tables.windows.get(windowPk(pipeline, key));
    if (!byStart) return [];
    return [...byStart.values()]
      .filter((item) => item.windowStart >= from && item.windowStart <= to)
      .sort((a, b) => a.windowStart - b.windowStart)
      .map((item) => ({
        window: storedWindowOf(item),
        // Its own entry (a deployment before due pages, or left due for a later window), or not finished.
        due: item.dueShard !== undefined || (item.finishedAt === undefined && item.setAsideAt === undefined),
        ...(item.evaluatedThrough !== undefined ? { evaluatedThrough: item.evaluatedThrough } : {}),
      }));
  }
}
