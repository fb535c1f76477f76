/**
 * The engine's logic on the in-memory adapters (which pass the DynamoDB adapters' contract):
 * applyAggregate's protocol, ingestBatch under redelivery, and closeWindows' one alert per
 * (window, rule) under repeated and crashing closers, in milliseconds instead of through a JVM.
 * test/integration keeps the same claims on DynamoDB Local.
 */
import { describe, expect, it } from 'vitest';
import { closeWindows, type CloserDeps } from '../../lib/closer/close-windows.ts';
import { createCloserHandler } from '../../lib/closer/closer-handler.ts';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import { applyAggregate } from '../../lib/ingest/apply.ts';
import type { IngestDeps } from '../../lib/ingest/ingest-batch.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { planBatch } from '../../lib/ingest/plan.ts';
import { createRouter } from '../../lib/ingest/router.ts';
import { decodeKafkaEvent } from '../../lib/codec/kafka-event.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { defaultRules } from '../../lib/rules/defaults.ts';
import { memoryStores } from '../../lib/store/memory/index.ts';
import { TransientStoreError } from '../../lib/store/errors.ts';
import type { WindowStore } from '../../lib/store/ports.ts';
import { featuresOf } from '../../lib/windows/features-of.ts';
import { directComputation, windowId, type Expected } from '../support/direct.ts';
import { mixedRecords, recut, T0 } from '../support/records.ts';
import { Random } from '../../local/generator/random.ts';
import { normalise } from '../support/stored.ts';

const DELAY_MS = 3_600_000;
const byName = new Map(builtinPipelines.map((p) => [p.name, p]));

function setup() {
  const stores = memoryStores({ now: () => Date.parse('2026-12-01T09:00:00Z') });
  const deps: IngestDeps = {
    router: createRouter(builtinPipelines),
    windows: stores.windows,
    watermarks: stores.watermarks,
    sideOutput: stores.sideOutput,
    options: { maxRecordBytes: 65_536, writeConcurrency: 8, watermarkDelayMs: DELAY_MS },
  };
  return { stores, deps, handler: createIngestHandler(deps) };
}

function stored(stores: ReturnType<typeof memoryStores>): Expected {
  const out: Expected = new Map();
  for (const item of stores.tables.allWindows()) {
    const slots = Object.fromEntries([...item.slots].map(([k, v]) => [k, v instanceof Set ? ([...v] as number[] | string[]) : v]));
    const features = featuresOf(byName.get(item.pipeline)!, slots);
    for (const [k, v] of Object.entries(features)) if (Array.isArray(v)) features[k] = [...v].sort();
    out.set(windowId(item.pipeline, item.key, item.windowStart), features);
  }
  return out;
}

const expected = (records: RecordInput[]) =>
  directComputation(
    records.map((r) => ({ topic: r.topic, partition: r.partition, value: r.value as Record<string, unknown> })),
    { delayMs: DELAY_MS },
  );

const records = mixedRecords(1500, 42);

describe('applyAggregate on the memory store', () => {
  it('applies, then skips a duplicate, then applies only what lies above the marks', async () => {
    const { stores, deps } = setup();
    const iot = records.filter((r) => r.topic === 'iot_telemetry' && r.partition === 0).slice(0, 40);
    const plan = (rs: RecordInput[]) => planBatch(decodeKafkaEvent(encodeKafkaEvent(rs)), deps.router, { maxRecordBytes: 65_536 });
    const whole = plan(iot).aggregates;
    const firstHalf = plan(iot.slice(0, 20)).aggregates;
    for (const agg of firstHalf) expect((await applyAggregate(stores.windows, agg)).status).toBe('applied');
    for (const agg of firstHalf) expect((await applyAggregate(stores.windows, agg)).status).toBe('duplicate');
    const outcomes = await Promise.all(whole.map((agg) => applyAggregate(stores.windows, agg)));
    expect(outcomes.some((o) => o.status === 'partial')).toBe(true);
    expect(normalise(stored(stores))).toEqual(normalise(directComputation(iot.map((r) => ({ topic: r.topic, value: r.value as Record<string, unknown> })))));
  });

  it('gives up as transient when a concurrent writer keeps moving the marks', async () => {
    const { stores, deps } = setup();
    const agg = planBatch(decodeKafkaEvent(encodeKafkaEvent(records.filter((r) => r.topic === 'iot_telemetry').slice(0, 5))), deps.router, { maxRecordBytes: 65_536 }).aggregates[0]!;
    let n = 0;
    // Every refusal reports marks that moved again since the last one.
    const racing: WindowStore = { write: async () => ({ applied: false, closed: false, marks: new Map([[agg.offsets[0]!.partitionId, agg.offsets[0]!.first - 1 - (n++ % 2)]]) }) };
    await expect(applyAggregate(racing, agg)).rejects.toBeInstanceOf(TransientStoreError);
    expect(stores.tables.windows.size).toBe(0);
  });
});

describe('ingestBatch on the memory store', () => {
  it('applies each record once when the whole stream is delivered twice', async () => {
    const { stores, handler } = setup();
    const batches = recut(records, 1, 120);
    for (const batch of [...batches, ...batches]) expect(await handler(encodeKafkaEvent(batch))).toEqual({ batchItemFailures: [] });
    expect(normalise(stored(stores))).toEqual(normalise(expected(records)));
  });

  it('applies each record once when redelivery cuts batches at other boundaries', async () => {
    const { stores, handler } = setup();
    const small = recut(records, 2, 30);
    for (const batch of small.slice(0, Math.floor(small.length / 2))) await handler(encodeKafkaEvent(batch));
    for (const batch of recut(records, 3, 400)) await handler(encodeKafkaEvent(batch));
    expect(normalise(stored(stores))).toEqual(normalise(expected(records)));
  });

  it('resumes from the first record a transient failure touched, and loses nothing when redelivered from there', async () => {
    const { stores, deps } = setup();
    const random = new Random(9);
    const flaky: WindowStore = {
      write: (w) => {
        if (random.chance(0.15)) throw new TransientStoreError('throttled');
        return stores.windows.write(w);
      },
    };
    const handler = createIngestHandler({ ...deps, windows: flaky });
    for (const batch of recut(records, 5, 150)) {
      let pending = batch;
      for (let round = 0; pending.length > 0; round++) {
        expect(round).toBeLessThan(50);
        const { batchItemFailures } = await handler(encodeKafkaEvent(pending));
        const resume = new Map(batchItemFailures.map((f) => [f.itemIdentifier.partition, f.itemIdentifier.offset]));
        // As the mapping does: each partition goes on from its resume offset; the others are done.
        pending = pending.filter((r) => {
          const at = resume.get(`${r.topic}-${r.partition}`);
          return at !== undefined && r.offset >= at;
        });
      }
    }
    expect(normalise(stored(stores))).toEqual(normalise(expected(records)));
  });

  it('stores late events aside instead of applying them, the same on every delivery', async () => {
    const { stores, handler } = setup();
    for (const batch of [...recut(records, 6, 80), ...recut(records, 7, 300)]) await handler(encodeKafkaEvent(batch));
    const late = [...stores.tables.sideOutput.values()].filter((r) => r.kind === 'late');
    expect(late.length).toBeGreaterThan(0);
    expect(normalise(stored(stores))).toEqual(normalise(expected(records)));
  });
});

describe('closeWindows on the memory store', () => {
  async function ingested(spree: boolean) {
    const s = setup();
    const pay = Array.from({ length: spree ? 12 : 3 }, (_, i) => ({
      topic: 'user_events',
      partition: 0,
      offset: i,
      key: 'u1',
      value: { user_id: 'u1', action: 'payment', amount: 5, timestamp: T0 + i * 1_000 },
      timestamp: T0,
    }));
    await s.handler(encodeKafkaEvent(pay));
    const closer = (extra: Partial<CloserDeps> = {}): CloserDeps => ({
      store: s.stores.closer,
      alerts: s.stores.alerts,
      pipelines: builtinPipelines,
      rules: async () => defaultRules,
      watermark: { delayMs: 0, idleTimeoutMs: 1, policy: 'min' },
      resultPipelines: new Set(['risk']),
      concurrency: 4,
      // Every partition is idle by now: the greatest time seen counts, and the window has ended.
      now: () => T0 + 3_600_000,
      remainingMs: () => 60_000,
      reserveMs: 0,
      ...extra,
    });
    return { ...s, closer };
  }

  it('closes due windows, raises the alert once, and records the risk verdict', async () => {
    const { stores, closer } = await ingested(true);
    await stores.watermarks.advance({ topic: 'user_events', partition: 0, maxEventTime: T0 + 2 * 3_600_000, lastOffset: 99 });
    const report = await closeWindows(closer());
    const payments = report.pipelines.find((p) => p.pipeline === 'payments')!;
    expect(payments).toMatchObject({ closed: 1, alerts: 1 });
    expect([...stores.tables.alerts.values()].map((a) => a.alertType)).toEqual(['payment_spree']);
    expect(stores.tables.results.size).toBe(1);
    expect((await closeWindows(closer())).pipelines.every((p) => p.closed === 0)).toBe(true);
    expect(stores.tables.alerts.size).toBe(1);
  });

  it('finishes a window after a crash between the alert and the finish: one record', async () => {
    const { stores, closer } = await ingested(true);
    await stores.watermarks.advance({ topic: 'user_events', partition: 0, maxEventTime: T0 + 2 * 3_600_000, lastOffset: 99 });
    await expect(
      closeWindows(
        closer({
          beforeFinish: () => {
            throw new Error('crash');
          },
        }),
      ),
    ).rejects.toThrow('crash');
    const again = await closeWindows(closer());
    expect(again.pipelines.find((p) => p.pipeline === 'payments')).toMatchObject({ closed: 0, recovered: 1, alerts: 0, duplicateAlerts: 1 });
    // One record: the dispatcher sends it from the outbox once, whatever the closer's crashes.
    expect(stores.tables.alerts.size).toBe(1);
  });

  it('gives each invocation of the closer handler its own time budget', async () => {
    const { stores, closer } = await ingested(true);
    await stores.watermarks.advance({ topic: 'user_events', partition: 0, maxEventTime: T0 + 2 * 3_600_000, lastOffset: 99 });
    const { remainingMs: _, ...deps } = closer({ reserveMs: 5_000 });
    const handler = createCloserHandler(deps);
    // Out of time at once, started beside a run with a minute left: only the latter closes anything.
    const [starved, full] = await Promise.all([handler({}, { getRemainingTimeInMillis: () => 1_000 }), handler({}, { getRemainingTimeInMillis: () => 60_000 })]);
    expect(starved.incomplete).toBe(true);
    expect(starved.pipelines.reduce((n, p) => n + p.closed, 0)).toBe(0);
    expect(full.pipelines.find((p) => p.pipeline === 'payments')).toMatchObject({ closed: 1, alerts: 1 });
  });

  it('raises nothing for a window whose rule does not match', async () => {
    const { stores, closer } = await ingested(false);
    await stores.watermarks.advance({ topic: 'user_events', partition: 0, maxEventTime: T0 + 2 * 3_600_000, lastOffset: 99 });
    const report = await closeWindows(closer());
    expect(report.pipelines.find((p) => p.pipeline === 'payments')).toMatchObject({ closed: 1, alerts: 0 });
    expect(stores.tables.alerts.size).toBe(0);
  });
});
