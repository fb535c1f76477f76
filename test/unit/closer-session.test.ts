/**
 * Closer sessions (lib/closer/session.ts) on the in-memory adapters: a window that becomes due
 * mid-session is closed by the next poll, polls that cross no window boundary leave the due index
 * unread, and the session's report sums its passes.
 */
import { describe, expect, it } from 'vitest';
import type { CloserDeps } from '../../lib/closer/close-windows.ts';
import { createCloserHandler, SINGLE_PASS_EVENT } from '../../lib/closer/closer-handler.ts';
import { closeInSession, crossesBoundary, mergeReports } from '../../lib/closer/session.ts';
import type { CloserStore } from '../../lib/closer/ports.ts';
import { encodeKafkaEvent } from '../../lib/codec/encode.ts';
import { payments } from '../../lib/pipelines/builtin.ts';
import { minutes } from '../../lib/pipelines/window.ts';
import { defaultRules } from '../../lib/rules/defaults.ts';
import { memoryStores } from '../../lib/store/memory/index.ts';
import { DUE_PAGE_SHARDS, DUE_SHARDS, dueShardOf, duePageShardOf } from '../../lib/store/tables.ts';
import { memoryIngest, paymentSpree } from '../support/memory-ingest.ts';
import { T0 } from '../support/records.ts';

describe('crossesBoundary', () => {
  it('is true only when a multiple of the advance lies in (from, to]', () => {
    expect(crossesBoundary(0, 299_999, 300_000)).toBe(false);
    expect(crossesBoundary(0, 300_000, 300_000)).toBe(true);
    expect(crossesBoundary(300_000, 300_001, 300_000)).toBe(false);
    expect(crossesBoundary(-1, 0, 300_000)).toBe(true);
    expect(crossesBoundary(-300_001, -300_000, 300_000)).toBe(true);
    expect(crossesBoundary(5, 5, 300_000)).toBe(false);
  });
});

async function spree() {
  const stores = memoryStores({ now: () => T0 });
  const ingest = memoryIngest(stores, [payments]);
  await ingest(encodeKafkaEvent(paymentSpree()));
  // Count the due-index reads: the figure a skipped poll saves.
  let dueReads = 0;
  const store: CloserStore = Object.create(stores.closer);
  store.dueWindows = (...args) => {
    dueReads++;
    return stores.closer.dueWindows(...args);
  };
  const deps: CloserDeps = {
    store,
    alerts: stores.alerts,
    pipelines: [payments],
    rules: async () => defaultRules,
    // Never idle: the watermark is the partition's max event time, as while a stream flows.
    watermark: { delayMs: 0, idleTimeoutMs: 1e12, policy: 'min' },
    resultPipelines: new Set(),
    concurrency: 4,
    now: () => T0,
    remainingMs: () => 60_000,
    reserveMs: 0,
  };
  return { stores, deps, dueReads: () => dueReads };
}

/** A clock whose sleeps pass at once and run `onSleep` with the poll number. */
function fakeClock(onSleep: (poll: number) => Promise<void>) {
  let t = 0;
  let polls = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
      await onSleep(++polls);
    },
  };
}

describe('closeInSession', () => {
  it('closes a window that becomes due mid-session on the next poll, reading the due index only when a boundary was crossed', async () => {
    const { stores, deps, dueReads } = await spree();
    const perPass: number[] = [];
    const clock = fakeClock(async (poll) => {
      // Ingest moves the partition on in event time: within the window, then past its end at poll 3.
      const maxEventTime = poll < 3 ? T0 + 20_000 + poll : T0 + minutes(5) + poll;
      await stores.watermarks.advance({ topic: 'user_events', partition: 0, maxEventTime, lastOffset: 11 + poll });
    });
    let readsBefore = 0;
    const report = await closeInSession(
      deps,
      { sessionMs: 5_000, pollMs: 1_000 },
      () => {
        perPass.push(dueReads() - readsBefore);
        readsBefore = dueReads();
      },
      clock,
    );
    // Pass 1 reads every shard; polls 1-2 cross no 5-minute boundary; poll 3 crosses one; 4-5 do not.
    expect(perPass[0]).toBeGreaterThan(0);
    expect(perPass.slice(1, 3)).toEqual([0, 0]);
    expect(perPass[3]).toBeGreaterThan(0);
    expect(perPass.slice(4)).toEqual([0, 0]);
    expect(report.pipelines[0]).toMatchObject({ pipeline: 'payments', closed: 1, alerts: 1, watermark: T0 + minutes(5) + 5 });
    expect(stores.tables.alerts.size).toBe(1);
  });

  it('reads the due index again on the poll after one that left windows behind', async () => {
    const { deps, dueReads } = await spree();
    const perPass: number[] = [];
    let readsBefore = 0;
    let first = true;
    const store: CloserStore = Object.create(deps.store);
    // The first pass is throttled on the due index: the next poll must look again though no boundary moved.
    store.dueWindows = (...args) => {
      if (first) {
        first = false;
        return Promise.reject(Object.assign(new Error('slow down'), { name: 'ThrottlingException', $retryable: { throttling: true } }));
      }
      return deps.store.dueWindows(...args);
    };
    await closeInSession({ ...deps, store }, { sessionMs: 2_000, pollMs: 1_000 }, () => {
      perPass.push(dueReads() - readsBefore);
      readsBefore = dueReads();
    }, fakeClock(async () => {}));
    expect(perPass.length).toBe(3);
    expect(perPass[1]).toBeGreaterThan(0);
    expect(perPass[2]).toBe(0);
  });

  it('finds a legacy due entry on a session\'s first pass; its later polls read only the due pages\' shards', async () => {
    const { stores, deps } = await spree();
    // The spree's window as a deployment before due pages wrote it: its own entry on u1's shard (3), no page.
    const legacyShard = dueShardOf('payments', 'u1');
    expect(legacyShard).not.toBe(duePageShardOf('payments', 'u1'));
    for (const w of stores.tables.allWindows()) w.dueShard = legacyShard;
    stores.tables.duePages.clear();
    const shardsRead: number[][] = [];
    const store: CloserStore = Object.create(deps.store);
    store.dueWindows = (pipeline, shard, ...rest) => {
      shardsRead.at(-1)!.push(shard);
      return deps.store.dueWindows(pipeline, shard, ...rest);
    };
    const session = (onSleep: (poll: number) => Promise<void>) =>
      closeInSession({ ...deps, store }, { sessionMs: 2_000, pollMs: 1_000 }, () => shardsRead.push([]), fakeClock(onSleep));
    shardsRead.push([]);
    // The window ends while the session runs (poll 1 crosses its end): a later poll does not see it.
    const first = await session(async (poll) => {
      await stores.watermarks.advance({ topic: 'user_events', partition: 0, maxEventTime: T0 + minutes(5) + poll, lastOffset: 11 + poll });
    });
    expect(shardsRead[0]).toEqual(Array.from({ length: DUE_SHARDS }, (_, i) => i));
    expect(shardsRead[1]).toEqual(Array.from({ length: DUE_PAGE_SHARDS }, (_, i) => i));
    expect(first.pipelines[0]).toMatchObject({ closed: 0, alerts: 0 });
    // The next session's first pass reads every shard again and closes it.
    shardsRead.length = 0;
    shardsRead.push([]);
    const second = await session(async () => {});
    expect(shardsRead[0]).toHaveLength(DUE_SHARDS);
    expect(second.pipelines[0]).toMatchObject({ closed: 1, alerts: 1 });
    expect(stores.tables.alerts.size).toBe(1);
  });

  it('stops polling when the invocation would run into its reserve', async () => {
    const { deps } = await spree();
    let remaining = 10_000;
    let passes = 0;
    await closeInSession({ ...deps, remainingMs: () => remaining, reserveMs: 2_000 }, { sessionMs: 60_000, pollMs: 1_000 }, () => passes++, {
      now: () => 10_000 - remaining,
      sleep: async (ms) => {
        remaining -= ms;
      },
    });
    // A pass is started only while remaining - poll > 2 x reserve: at 10, 9, 8, 7, 6 s left.
    expect(passes).toBe(6);
  });
});

describe('the closer handler', () => {
  it('runs one pass for the single-pass event and a session for a scheduled one', async () => {
    const { deps } = await spree();
    const { remainingMs: _, ...rest } = deps;
    let passes = 0;
    const handler = createCloserHandler(rest, () => passes++, { sessionMs: 300, pollMs: 100 });
    await handler(SINGLE_PASS_EVENT, { getRemainingTimeInMillis: () => 60_000 });
    expect(passes).toBe(1);
    await handler({ source: 'aws.events' }, { getRemainingTimeInMillis: () => 60_000 });
    expect(passes).toBeGreaterThanOrEqual(3);
  });
});

describe('mergeReports', () => {
  it('sums counts, keeps the last watermark and what the last pass left', () => {
    const pass = (watermark: number, closed: number, deferred: number, incomplete: boolean) => ({
      pipelines: [{ pipeline: 'payments', watermark, closed, recovered: 0, alerts: closed, duplicateAlerts: 0, deferred, setAside: 0 }],
      incomplete,
      setAside: [],
    });
    expect(mergeReports([pass(1, 2, 3, true), pass(5, 1, 0, false)])).toEqual(pass(5, 3, 0, false));
  });
});
