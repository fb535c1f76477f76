/**
 * The due pages a batch writes (docs/design.md, "Due pages"): the windows it created, and every
 * window it found already written by an earlier delivery of its records (that delivery may have
 * died before its pages), grouped by pipeline, due shard and window end, in chunks of bounded size.
 */
import { createHash } from 'node:crypto';
import type { DecodedRecord } from '../codec/kafka-event.ts';
import type { DuePage, PagedWindow } from '../store/ports.ts';
import { duePageShardOf } from '../store/tables.ts';

/** A window to list: its pipeline, key and bounds. */
export interface ListedWindow extends PagedWindow {
  pipeline: string;
  windowEnd: number;
}

/**
 * Bytes of listed windows per page. A page is written once by ingest, read (strongly consistent:
 * 4 KB per read unit) and deleted once by the closer, so 4 KB reads in one unit and writes in four,
 * and a page a deferred window keeps costs the next pass at most one unit to read again.
 */
export const DUE_PAGE_BYTES = 4_000;

/** What one listed window adds to a page: its entry "<start>#<key>" and the list's overhead. */
export function pagedWindowBytes(w: PagedWindow): number {
  return Buffer.byteLength(w.key) + String(w.windowStart).length + 4;
}

/**
 * The batch cut's id: the same records of the same partitions give the same id, so a redelivery
 * of the same cut overwrites its pages instead of adding new ones.
 */
export function batchIdOf(partitions: readonly DecodedRecord[][]): string {
  const cut = partitions.filter((p) => p.length > 0).map((p) => [p[0]!.partitionId, p[0]!.offset, p.at(-1)!.offset]);
  return createHash('sha256').update(JSON.stringify(cut)).digest('hex').slice(0, 16);
}

/**
 * The pages listing `windows` (duplicates listed once), deterministic in their content and ids: a
 * page's id is a digest of the batch cut and of what it lists, so writing a page again writes
 * the same item (docs/design.md, "Due pages").
 */
export function duePagesOf(windows: Iterable<ListedWindow>, batchId: string): DuePage[] {
  const groups = new Map<string, { dueShard: string; pipeline: string; windowEnd: number; windows: Map<string, PagedWindow> }>();
  for (const w of windows) {
    const dueShard = duePageShardOf(w.pipeline, w.key);
    const id = `${dueShard}\u0000${w.windowEnd}`;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { dueShard, pipeline: w.pipeline, windowEnd: w.windowEnd, windows: new Map() }));
    g.windows.set(`${w.windowStart}#${w.key}`, { key: w.key, windowStart: w.windowStart });
  }
  const pages: DuePage[] = [];
  const ordered = [...groups.values()].sort((a, b) => a.windowEnd - b.windowEnd || (a.dueShard < b.dueShard ? -1 : a.dueShard > b.dueShard ? 1 : 0));
  for (const g of ordered) {
    // Sorted, so a redelivery of the same cut cuts the same chunks.
    const listed = [...g.windows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, w]) => w);
    let chunk: PagedWindow[] = [];
    let bytes = 0;
    let n = 0;
    const flush = () => {
      // The id names the content too: a rewrite under an id is then always the same page. Were it
      // the cut alone, a redelivery listing one window more (one whose write failed for now the
      // first time) could overwrite a page a closer had just read, settled and was deleting, and
      // the delete would take the new window with it.
      const id = createHash('sha256').update(batchId).update(JSON.stringify(chunk.map((w) => [w.key, w.windowStart]))).digest('hex').slice(0, 16);
      pages.push({ pipeline: g.pipeline, dueShard: g.dueShard, windowEnd: g.windowEnd, batchId: id, chunk: n++, windows: chunk });
      chunk = [];
      bytes = 0;
    };
    for (const w of listed) {
      const size = pagedWindowBytes(w);
      if (chunk.length > 0 && bytes + size > DUE_PAGE_BYTES) flush();
      chunk.push(w);
      bytes += size;
    }
    if (chunk.length > 0) flush();
  }
  return pages;
}
