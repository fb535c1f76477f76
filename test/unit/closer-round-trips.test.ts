/**
 * A closer pass's round trips to the tables (lib/closer/close-windows.ts): the pipelines are
 * closed side by side and every due-index shard is asked at once, so a pass waits a few round
 * trips, not one per (pipeline, shard). Under a loaded table each round trip is slow, and this is
 * what kept at-close alerts waiting (issue #13): 4 pipelines x 16 shards one after the other.
 */
import { describe, expect, it } from 'vitest';
import { closeWindows, type CloserDeps } from '../../lib/closer/close-windows.ts';
import type { CloserStore } from '../../lib/closer/ports.ts';
import { encodeKafkaEvent } from '../../lib/codec/encode.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { minutes } from '../../lib/pipelines/window.ts';
import { defaultRules } from '../../lib/rules/defaults.ts';
import { DUE_SHARDS } from '../../lib/store/tables.ts';
import { memoryStores } from '../../lib/store/memory/index.ts';
import { memoryIngest, paymentSpree } from '../support/memory-ingest.ts';
import { T0 } from '../support/records.ts';

/** Wraps `f` so that each call takes a tick of its own and the calls in flight at once are counted. */
function inFlight<A extends unknown[], R>(f: (...args: A) => Promise<R>) {
  let now = 0;
  let most = 0;
  const wrapped = async (...args: A): Promise<R> => {
    most = Math.max(most, ++now);
    try {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return await f(...args);
    } finally {
      now--;
    }
  };
  return { wrapped, most: () => most };
}

describe('a closer pass', () => {
  it('reads every pipeline at once and every due shard at once, and still closes what is due', async () => {
    const stores = memoryStores({ now: () => T0 });
    const ingest = memoryIngest(stores, builtinPipelines);
    await ingest(encodeKafkaEvent(paymentSpree()));
    // Past the 5-minute window in event time, so the watermark passes its end.
    await stores.watermarks.advance({ topic: 'user_events', partition: 0, maxEventTime: T0 + minutes(6), lastOffset: 12 });

    const marks = inFlight(stores.closer.partitionMarks.bind(stores.closer));
    const due = inFlight(stores.closer.dueWindows.bind(stores.closer));
    const store: CloserStore = Object.create(stores.closer);
    store.partitionMarks = marks.wrapped;
    store.dueWindows = due.wrapped;
    const deps: CloserDeps = {
      store,
      alerts: stores.alerts,
      pipelines: builtinPipelines,
      rules: async () => defaultRules,
      // Every partition idle: each pipeline with marks has a watermark and reads its due index.
      watermark: { delayMs: 0, idleTimeoutMs: 1, policy: 'min' },
      resultPipelines: new Set(),
      concurrency: 4,
      now: () => T0 + minutes(60),
      remainingMs: () => 60_000,
      reserveMs: 0,
    };
    const report = await closeWindows(deps);

    const withWatermark = report.pipelines.filter((p) => p.watermark !== undefined).length;
    expect(withWatermark).toBeGreaterThan(0);
    // Pipelines one after the other would never have two marks reads, or more than one pipeline's
    // shards, in flight.
    expect(marks.most()).toBe(builtinPipelines.length);
    expect(due.most()).toBe(withWatermark * DUE_SHARDS);
    const paid = report.pipelines.find((p) => p.pipeline === 'payments')!;
    expect(paid.closed + paid.recovered).toBeGreaterThan(0);
    expect(paid.alerts).toBeGreaterThan(0);
  });
});
