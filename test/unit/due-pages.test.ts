/**
 * Due pages (docs/design.md, "Due pages") on the memory stores: how a batch cuts them, that a crash
 * or a failed page write before them leaves every window listed by the redelivery, and how the
 * closer settles and deletes them.
 */
import { describe, expect, it } from 'vitest';
import { closeWindows, type CloserDeps } from '../../lib/closer/close-windows.ts';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import { batchIdOf, DUE_PAGE_BYTES, duePagesOf, pagedWindowBytes, type ListedWindow } from '../../lib/ingest/due-pages.ts';
import type { IngestDeps } from '../../lib/ingest/ingest-batch.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { createRouter } from '../../lib/ingest/router.ts';
import { decodeKafkaEvent } from '../../lib/codec/kafka-event.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { defaultRules } from '../../lib/rules/defaults.ts';
import { TransientStoreError } from '../../lib/store/errors.ts';
import { memoryStores } from '../../lib/store/memory/index.ts';
import type { DuePageStore } from '../../lib/store/ports.ts';
import { duePageShardOf } from '../../lib/store/tables.ts';
import { mixedRecords, T0 } from '../support/records.ts';

const NOW = Date.parse('2026-12-01T09:00:00Z');

describe('the due pages of a batch', () => {
  const windows = (n: number, end = 600_000): ListedWindow[] => Array.from({ length: n }, (_, i) => ({ pipeline: 'risk', key: `user-${i}`, windowStart: end - 600_000, windowEnd: end }));

  it('lists each window once, per (shard, end), in chunks under the byte bound, the same for the same input', () => {
    const listed = [...windows(1000), ...windows(1000).slice(0, 10), ...windows(5, 1_200_000)];
    const pages = duePagesOf(listed, 'b');
    expect(pages.flatMap((p) => p.windows).length).toBe(1005);
    for (const p of pages) {
      expect(p.windows.reduce((n, w) => n + pagedWindowBytes(w), 0)).toBeLessThanOrEqual(DUE_PAGE_BYTES);
      expect(p.windows.every((w) => duePageShardOf('risk', w.key) === p.dueShard)).toBe(true);
    }
    expect(pages.map((p) => [p.windowEnd, p.chunk])).toEqual([[600_000, 0], [600_000, 1], [600_000, 2], [600_000, 3], [1_200_000, 0]]);
    // A redelivery lists in another order: the same pages, so the same ids overwrite.
    expect(duePagesOf([...listed].reverse(), 'b')).toEqual(pages);
  });

  it('names a batch by its cut: the same records, the same id; another cut, another', () => {
    const recs = mixedRecords(40, 3).filter((r) => r.topic === 'user_events');
    const cut = (rs: RecordInput[]) => batchIdOf(decodeKafkaEvent(encodeKafkaEvent(rs)));
    expect(cut(recs)).toBe(cut([...recs]));
    const shorter = recs.filter((r) => r.partition !== recs.at(-1)!.partition || r.offset < recs.at(-1)!.offset);
    expect(cut(shorter)).not.toBe(cut(recs));
  });
});

describe('ingest writes its due pages before its marks', () => {
  const records = mixedRecords(600, 11);
  const setup = (duePages?: (real: DuePageStore) => DuePageStore) => {
    const stores = memoryStores({ now: () => NOW });
    const deps: IngestDeps = {
      router: createRouter(builtinPipelines),
      windows: stores.windows,
      duePages: duePages ? duePages(stores.duePages) : stores.duePages,
      watermarks: stores.watermarks,
      sideOutput: stores.sideOutput,
      options: { maxRecordBytes: 65_536, writeConcurrency: 8, watermarkDelayMs: 3_600_000 },
    };
    return { stores, handler: createIngestHandler(deps) };
  };
  const listedIds = (stores: ReturnType<typeof memoryStores>) => new Set([...stores.tables.duePages.values()].flatMap((p) => p.windows.map((w) => `${p.pipeline}#${w.key}#${w.windowStart}`)));
  const windowIds = (stores: ReturnType<typeof memoryStores>) => new Set([...stores.tables.allWindows()].map((w) => `${w.pipeline}#${w.key}#${w.windowStart}`));

  it('lists every window it creates, and no window carries an index entry of its own', async () => {
    const { stores, handler } = setup();
    for (const topic of ['user_events', 'user_registrations', 'iot_telemetry']) await handler(encodeKafkaEvent(records.filter((r) => r.topic === topic)));
    expect(windowIds(stores).size).toBeGreaterThan(50);
    expect(listedIds(stores)).toEqual(windowIds(stores));
    expect([...stores.tables.allWindows()].every((w) => w.dueShard === undefined)).toBe(true);
  });

  it('after a crash before its pages, the redelivery finds the windows written and lists them', async () => {
    let crash = true;
    const { stores, handler } = setup((real) => ({
      put: async (pages) => {
        if (crash) throw new Error('crashed before the due pages');
        return real.put(pages);
      },
    }));
    const batch = encodeKafkaEvent(records.filter((r) => r.topic === 'user_events'));
    await expect(handler(batch)).rejects.toThrow('crashed');
    expect(stores.tables.duePages.size).toBe(0);
    // No mark was raised: the whole batch comes again, every write a duplicate.
    expect(stores.tables.partitionMarks.size).toBe(0);
    crash = false;
    expect(await handler(batch)).toEqual({ batchItemFailures: [] });
    expect(listedIds(stores)).toEqual(windowIds(stores));
  });

  it('a page write that fails for now resumes every partition at its first record, marks unraised', async () => {
    let fail = true;
    const { stores, handler } = setup((real) => ({
      put: async (pages) => {
        if (fail) throw new TransientStoreError('throttled');
        return real.put(pages);
      },
    }));
    const rs = records.filter((r) => r.topic === 'user_events');
    const { batchItemFailures } = await handler(encodeKafkaEvent(rs));
    const firsts = new Map<string, number>();
    for (const r of rs) if (!firsts.has(`${r.topic}-${r.partition}`)) firsts.set(`${r.topic}-${r.partition}`, r.offset);
    expect(new Map(batchItemFailures.map((f) => [f.itemIdentifier.partition, f.itemIdentifier.offset]))).toEqual(firsts);
    expect(stores.tables.partitionMarks.size).toBe(0);
    fail = false;
    await handler(encodeKafkaEvent(rs));
    expect(listedIds(stores)).toEqual(windowIds(stores));
  });
});

describe('the closer on due pages', () => {
  const pipelines = builtinPipelines.filter((p) => p.name === 'payments');
  const payments = mixedRecords(400, 5).filter((r) => r.topic === 'user_events');
  async function ingested() {
    const stores = memoryStores({ now: () => NOW });
    const handler = createIngestHandler({
      router: createRouter(pipelines),
      windows: stores.windows,
      duePages: stores.duePages,
      watermarks: stores.watermarks,
      sideOutput: stores.sideOutput,
      options: { maxRecordBytes: 65_536, writeConcurrency: 8, watermarkDelayMs: 0 },
    });
    await handler(encodeKafkaEvent(payments));
    // Every window has ended: a partition far ahead, the others idle.
    await stores.watermarks.advance({ topic: 'user_events', partition: 0, maxEventTime: T0 + 86_400_000, lastOffset: 10_000 });
    const closer = (extra: Partial<CloserDeps> = {}): CloserDeps => ({
      store: stores.closer,
      alerts: stores.alerts,
      pipelines,
      rules: async () => defaultRules,
      watermark: { delayMs: 0, idleTimeoutMs: 1, policy: 'min' },
      resultPipelines: new Set(),
      concurrency: 4,
      now: () => T0 + 10 * 86_400_000,
      remainingMs: () => 60_000,
      reserveMs: 0,
      ...extra,
    });
    return { stores, closer };
  }
  const open = (stores: ReturnType<typeof memoryStores>) => [...stores.tables.allWindows()].filter((w) => w.closedAt === undefined).length;

  it('closes every listed window, then deletes the pages; a second pass finds nothing', async () => {
    const { stores, closer } = await ingested();
    const windows = open(stores);
    expect(windows).toBeGreaterThan(2);
    const report = await closeWindows(closer());
    expect(report.pipelines[0]).toMatchObject({ closed: windows, setAside: 0, deferred: 0 });
    expect(stores.tables.duePages.size).toBe(0);
    expect([...stores.tables.allWindows()].every((w) => w.finishedAt !== undefined)).toBe(true);
    expect((await closeWindows(closer())).pipelines[0]).toMatchObject({ closed: 0, recovered: 0 });
  });

  it('takes a window listed on two pages once, skips a missing one without setting it aside', async () => {
    const { stores, closer } = await ingested();
    const windows = open(stores);
    const [page] = [...stores.tables.duePages.values()];
    // A second page (a re-cut redelivery) listing the same windows, plus one that is gone.
    await stores.duePages.put([{ pipeline: 'payments', dueShard: page!.dueShard, windowEnd: page!.windowEnd, batchId: 'other', chunk: 0, windows: [...page!.windows, { key: 'gone', windowStart: page!.windowEnd - 300_000 }] }]);
    const report = await closeWindows(closer());
    expect(report.pipelines[0]).toMatchObject({ closed: windows, recovered: 0, setAside: 0 });
    expect(stores.tables.duePages.size).toBe(0);
  });

  it('keeps a page while a window it lists is deferred, and deletes it once that one closes', async () => {
    const { stores, closer } = await ingested();
    const victim = [...stores.tables.allWindows()][0]!;
    let throttle = true;
    const store = Object.create(stores.closer) as typeof stores.closer;
    store.read = async (w) => {
      if (throttle && w.key === victim.key && w.windowStart === victim.windowStart) throw new TransientStoreError('throttled');
      return stores.closer.read(w);
    };
    const first = await closeWindows(closer({ store }));
    expect(first.pipelines[0]).toMatchObject({ deferred: 1 });
    expect(first.incomplete).toBe(true);
    const kept = [...stores.tables.duePages.values()];
    expect(kept.length).toBe(1);
    expect(kept[0]!.windows.some((w) => w.key === victim.key)).toBe(true);
    throttle = false;
    const second = await closeWindows(closer({ store }));
    expect(second.pipelines[0]).toMatchObject({ closed: 1, recovered: 0 });
    expect(stores.tables.duePages.size).toBe(0);
  });
});
