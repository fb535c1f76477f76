/** DuePageStore in memory: page items beside the windows, as in the windows table (../dynamodb/due-page-store.ts). */
import type { DuePage, DuePageStore } from '../ports.ts';
import { windowTtl } from '../retention.ts';
import { duePagePk } from '../tables.ts';
import type { MemoryTables } from './memory-tables.ts';

export class MemoryDuePageStore implements DuePageStore {
  constructor(
    private readonly tables: MemoryTables,
    private readonly options: { retentionMs: number; now?: () => number },
  ) {}

  async put(pages: readonly DuePage[]): Promise<void> {
    const now = (this.options.now ?? Date.now)();
    for (const p of pages) {
      const pk = duePagePk(p.dueShard, p.windowEnd, p.batchId);
      this.tables.duePages.set(`${pk}#${p.chunk}`, {
        pk,
        sk: p.chunk,
        pipeline: p.pipeline,
        dueShard: p.dueShard,
        windowEnd: p.windowEnd,
        windows: p.windows.map((w) => ({ key: w.key, windowStart: w.windowStart })),
        ttl: windowTtl(p.windowEnd, now, this.options.retentionMs),
      });
    }
  }
}
