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
import type { IngestDeps, IngestReport } from '../../lib/ingest/ingest-batch.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { planBatch } from '../../lib/ingest/plan.ts';
import { createRouter } from '../../lib/ingest/router.ts';
import { decodeKafkaEvent } from '../../lib/codec/kafka-event.ts';
import { builtinPipelines, registrationsPerIp } from '../../lib/pipelines/builtin.ts';
import { minutes, tumbling } from '../../lib/pipelines/window.ts';
import { EarlyAlerts } from '../../lib/ingest/early-alerts.ts';
import { MemoryBucketReader } from '../../lib/store/memory/bucket-reader.ts';
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
    duePages: stores.duePages,
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
    expect([...stores.tables.allWindows()].filter((w) => w.pipeline === 'risk' && w.closedAt !== undefined).map((w) => w.level)).toEqual([expect.any(String)]);
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

  it('judges a window again when a late write lands between its read and its one-write close', async () => {
    // Three payments do not make a spree; the late nine that land after the closer's read do.
    const { stores, closer, handler } = await ingested(false);
    await stores.watermarks.advance({ topic: 'user_events', partition: 0, maxEventTime: T0 + 2 * 3_600_000, lastOffset: 99 });
    const late = Array.from({ length: 9 }, (_, i) => ({ topic: 'user_events', partition: 1, offset: i, key: 'u1', value: { user_id: 'u1', action: 'payment', amount: 5, timestamp: T0 + i }, timestamp: T0 }));
    let landed = false;
    const real = stores.closer;
    const store: CloserDeps['store'] = {
      partitionMarks: (t) => real.partitionMarks(t),
      dueWindows: (...a) => real.dueWindows(...a),
      close: (w, n) => real.close(w, n),
      finish: (w, v, n) => real.finish(w, v, n),
      readDuePage: (e) => real.readDuePage(e),
      deleteDuePage: (e) => real.deleteDuePage(e),
      setAside: (w, n) => real.setAside(w, n),
      saveWatermark: (p, w) => real.saveWatermark(p, w),
      buckets: (...a) => real.buckets(...a),
      advanceBucket: (w, e) => real.advanceBucket(w, e),
      read: async (w) => {
        const read = await real.read(w);
        if (w.pipeline === 'payments' && !landed) {
          landed = true;
          await handler(encodeKafkaEvent(late));
        }
        return read;
      },
      closeQuietly: (w, v, n, verdict) => real.closeQuietly(w, v, n, verdict),
    };
    const report = await closeWindows(closer({ store }));
    expect(landed).toBe(true);
    expect(report.pipelines.find((p) => p.pipeline === 'payments')).toMatchObject({ closed: 1, alerts: 1 });
    expect([...stores.tables.alerts.values()].map((a) => [a.key, a.features.count])).toEqual([['u1', 12]]);
  });

  it('raises nothing for a window whose rule does not match', async () => {
    const { stores, closer } = await ingested(false);
    await stores.watermarks.advance({ topic: 'user_events', partition: 0, maxEventTime: T0 + 2 * 3_600_000, lastOffset: 99 });
    const report = await closeWindows(closer());
    expect(report.pipelines.find((p) => p.pipeline === 'payments')).toMatchObject({ closed: 1, alerts: 0 });
    expect(stores.tables.alerts.size).toBe(0);
  });
});

describe('hopping windows on the memory store', () => {
  // The built-in registrations pipeline as shipped: 10-minute windows starting every minute.
  const hoppingRegistrations = registrationsPerIp;
  const tumblingRegistrations = { ...registrationsPerIp, window: tumbling(minutes(10)) };
  const START = T0 - 5 * 60_000;
  const MIN = 60_000;
  // 30 sign-ups from one IP between 09:55 and 10:05, over two partitions: 15 on each side of 10:00.
  const burst: RecordInput[] = Array.from({ length: 30 }, (_, i) => ({
    topic: 'user_registrations',
    partition: i % 2,
    offset: 100 + Math.floor(i / 2),
    value: { user_id: `u${i}`, ip: '203.0.113.9', timestamp: START + i * 20_000 },
  }));
  /** Sign-ups per minute bucket, counted directly. */
  const perBucket = new Map<number, number>();
  for (const r of burst) {
    const t = (r.value as { timestamp: number }).timestamp;
    perBucket.set(Math.floor(t / MIN) * MIN, (perBucket.get(Math.floor(t / MIN) * MIN) ?? 0) + 1);
  }
  /** Sign-ups per 10-minute window start, counted directly from the events. */
  const perWindow = new Map<number, number>();
  for (const r of burst) {
    const t = (r.value as { timestamp: number }).timestamp;
    for (let start = Math.floor(t / MIN) * MIN - 9 * MIN; start <= t; start += MIN) perWindow.set(start, (perWindow.get(start) ?? 0) + 1);
  }

  function hoppingSetup(p = hoppingRegistrations, options: { early?: boolean } = {}) {
    const stores = memoryStores({ now: () => Date.parse('2026-12-01T09:00:00Z') });
    const deps: IngestDeps = {
      router: createRouter([p]),
      windows: stores.windows,
      duePages: stores.duePages,
      watermarks: stores.watermarks,
      sideOutput: stores.sideOutput,
      options: { maxRecordBytes: 65_536, writeConcurrency: 8, watermarkDelayMs: DELAY_MS },
      ...(options.early ? { early: new EarlyAlerts({ rules: async () => defaultRules, alerts: stores.alerts, buckets: new MemoryBucketReader(stores.tables), now: () => T0 }) } : {}),
    };
    const reports: IngestReport[] = [];
    return { stores, deps, reports, handler: createIngestHandler(deps, (r) => reports.push(r)) };
  }
  const counts = (stores: ReturnType<typeof memoryStores>) => new Map([...stores.tables.allWindows()].map((w) => [w.windowStart, w.slots.get('registrations')]));
  const closer = (stores: ReturnType<typeof memoryStores>, pipelines: (typeof builtinPipelines)[number][], extra: Partial<CloserDeps> = {}): CloserDeps => ({
    store: stores.closer,
    alerts: stores.alerts,
    pipelines,
    rules: async () => defaultRules,
    watermark: { delayMs: 0, idleTimeoutMs: 1, policy: 'min' },
    resultPipelines: new Set(),
    concurrency: 4,
    now: () => T0 + 3_600_000,
    remainingMs: () => 60_000,
    reserveMs: 0,
    ...extra,
  });
  const endOfStream = async (stores: ReturnType<typeof memoryStores>) => {
    for (const partition of [0, 1]) await stores.watermarks.advance({ topic: 'user_registrations', partition, maxEventTime: T0 + 3_600_000, lastOffset: 114 });
  };
  const alertsOf = (stores: ReturnType<typeof memoryStores>) => [...stores.tables.alerts.values()].map((a) => ({ start: (a.windowStart - START) / MIN, end: (a.windowEnd - START) / MIN, timing: a.timing, count: a.features.registrations, final: a.finalFeatures?.registrations }));

  it('stores each event in its one bucket exactly once, however the batches are delivered, and marks the buckets', async () => {
    const { stores, handler } = hoppingSetup();
    for (const batch of [...recut(burst, 11, 7), ...recut(burst, 12, 30), ...recut(burst, 13, 3)]) expect(await handler(encodeKafkaEvent(batch))).toEqual({ batchItemFailures: [] });
    expect(counts(stores)).toEqual(perBucket);
    expect(perBucket.size).toBe(10);
    // A bucket is a tumbling(1 min) item with its own offset marks, due at its own end, marked as a bucket of 10-minute windows.
    const first = stores.tables.window(`registrations#203.0.113.9`, START)!;
    expect([first.windowEnd, first.dueShard, first.bucketOfSizeMs, Object.fromEntries(first.marks)]).toEqual([START + MIN, undefined, 10 * MIN, { 'user_registrations-0': 101, 'user_registrations-1': 100 }]);
    // Not in the due index on its own: due pages list every bucket, each once per page however often redelivered.
    const listed = [...stores.tables.duePages.values()].flatMap((p) => p.windows.map((w) => `${w.key}@${(w.windowStart - START) / MIN}`));
    expect(new Set(listed)).toEqual(new Set([...perBucket.keys()].map((k) => `203.0.113.9@${(Number(k) - START) / MIN}`)));
  });

  it('raises the straddling burst once with the hopping pipeline, and never with tumbling windows', async () => {
    // Tumbling: 15 and 15, no alert.
    const tumbling = hoppingSetup(tumblingRegistrations);
    await tumbling.handler(encodeKafkaEvent(burst));
    await endOfStream(tumbling.stores);
    await closeWindows(closer(tumbling.stores, [tumblingRegistrations]));
    expect([...tumbling.stores.tables.allWindows()].map((w) => w.slots.get('registrations'))).toEqual([15, 15]);
    expect(tumbling.stores.tables.alerts.size).toBe(0);

    const { stores, handler } = hoppingSetup();
    await handler(encodeKafkaEvent(burst));
    // The watermark at the last sign-ups evaluates the windows ended by then; the rest at the end.
    const first = await closeWindows(closer(stores, [hoppingRegistrations]));
    await endOfStream(stores);
    const rest = await closeWindows(closer(stores, [hoppingRegistrations]));
    // Every window holding a sign-up was evaluated once: 19 of them, from 10 bucket items.
    expect((first.pipelines[0]!.windowsEvaluated ?? 0) + (rest.pipelines[0]!.windowsEvaluated ?? 0)).toBe(perWindow.size);
    // Seven windows hold more than 20 (starts 09:52 to 09:58), all in the cooldown group of 09:50: one
    // alert, recorded by the earliest of them, with its final count.
    const over = [...perWindow].filter(([, n]) => n > 20).map(([start]) => (start - START) / MIN);
    expect(over.sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    expect(alertsOf(stores)).toEqual([{ start: -3, end: 7, timing: 'close', count: 21, final: 21 }]);
    expect([...stores.tables.allWindows()].every((w) => w.closedAt !== undefined && w.dueShard === undefined)).toBe(true);
  });

  it('leaves a bucket that waits for a later alerting window as it is, and says so, while the watermark stays short of it', async () => {
    // 25 sign-ups from one IP at 10:04, and one from another IP at 10:07 on each partition (the watermark).
    const rush = burst.slice(0, 25).map((r, i) => ({ ...r, value: { ...(r.value as object), timestamp: START + 9 * MIN + i * 1_000 } }));
    const later = [0, 1].map((partition) => ({ topic: 'user_registrations', partition, offset: 200, value: { user_id: `later${partition}`, ip: '198.51.100.7', timestamp: START + 12 * MIN } }));
    const { stores, handler } = hoppingSetup();
    await handler(encodeKafkaEvent([...rush, ...later]));
    // Bucket 10:04 has ended: its windows ending 10:05 to 10:07 are judged, the first records the alert
    // of group 09:50. Those ending 10:08 to 10:14 hold the same 25 and the one ending 10:10 is the
    // first of group 10:00, so the bucket is left due for it.
    const first = await closeWindows(closer(stores, [hoppingRegistrations]));
    expect(first.pipelines[0]).toMatchObject({ closed: 1, recovered: 0, alerts: 1 });
    const due = () => [...stores.tables.allWindows()].filter((w) => w.dueShard !== undefined || w.finishedAt === undefined).map((w) => [w.key, (w.windowStart - START) / MIN, w.closedAt !== undefined]);
    expect(due()).toEqual([['203.0.113.9', 9, true], ['198.51.100.7', 12, false]]);
    // Runs at the same watermark find it in the due index and leave it: neither closed nor recovered.
    for (let run = 0; run < 3; run++) {
      const again = await closeWindows(closer(stores, [hoppingRegistrations]));
      expect(again.pipelines[0]).toMatchObject({ closed: 0, recovered: 0, alerts: 0, duplicateAlerts: 0, waiting: 1 });
    }
    expect(due()).toEqual([['203.0.113.9', 9, true], ['198.51.100.7', 12, false]]);
    // Past 10:10 the second group's alert is recorded and the bucket leaves the index.
    await endOfStream(stores);
    const last = await closeWindows(closer(stores, [hoppingRegistrations]));
    expect(last.pipelines[0]).toMatchObject({ alerts: 1 });
    expect(due()).toEqual([]);
    expect(alertsOf(stores)).toEqual([
      { start: 0, end: 10, timing: 'close', count: 25, final: 25 },
      { start: 5, end: 15, timing: 'close', count: 25, final: 25 },
    ]);
  });

  it('keeps one record per group when early alerts fire, batches are delivered twice or re-cut, and closers race', async () => {
    const { stores, handler } = hoppingSetup(hoppingRegistrations, { early: true });
    for (const batch of [...recut(burst, 21, 5), ...recut(burst, 22, 9), burst, burst]) await handler(encodeKafkaEvent(batch));
    // Early: the first window whose merged buckets passed 20 fired, once for the group.
    const early = alertsOf(stores);
    expect(early).toHaveLength(1);
    expect(early[0]).toMatchObject({ timing: 'early' });
    expect(perWindow.get(START + early[0]!.start * MIN)).toBeGreaterThan(20);
    await endOfStream(stores);
    // Two closers at once, then a repeat: the record's own window completes it, no second record.
    const [a, b] = await Promise.all([closeWindows(closer(stores, [hoppingRegistrations])), closeWindows(closer(stores, [hoppingRegistrations]))]);
    await closeWindows(closer(stores, [hoppingRegistrations]));
    expect(a.pipelines[0]!.alerts + b.pipelines[0]!.alerts).toBe(1);
    const after = alertsOf(stores);
    expect(after).toEqual([{ ...early[0]!, final: perWindow.get(START + early[0]!.start * MIN) }]);
  });

  it('repeats the work but loses no window when the closer crashes between the alerts and the progress', async () => {
    const { stores, handler } = hoppingSetup();
    await handler(encodeKafkaEvent(burst));
    await endOfStream(stores);
    let crashes = 0;
    const crashing = closer(stores, [hoppingRegistrations], {
      beforeFinish: () => {
        crashes++;
        throw new Error('simulated crash');
      },
    });
    await expect(closeWindows(crashing)).rejects.toThrow('simulated crash');
    expect(crashes).toBe(1);
    // The run died after recording the group's alert (window 09:52, bucket 10:01's), before its progress.
    // The next repeats that bucket and goes on: each of the seven matching windows finds the record.
    const report = await closeWindows(closer(stores, [hoppingRegistrations]));
    expect(report.pipelines[0]).toMatchObject({ alerts: 0, duplicateAlerts: 7 });
    expect(alertsOf(stores)).toEqual([{ start: -3, end: 7, timing: 'close', count: 21, final: 21 }]);
    expect([...stores.tables.allWindows()].every((w) => w.dueShard === undefined)).toBe(true);
  });

  it('turns a straggler away from all of its windows once its bucket has ended, and stores it late once', async () => {
    const { stores, reports, handler } = hoppingSetup();
    await handler(encodeKafkaEvent(burst));
    await closeWindows(closer(stores, [hoppingRegistrations], { rules: async () => [] }));
    const before = counts(stores);
    // 09:58:30: its bucket [09:58, 09:59) ended before the watermark (the last sign-ups at 10:04), so it
    // is late for all ten of its windows, four of which are still open.
    const straggler = { topic: 'user_registrations', partition: 0, offset: 200, value: { user_id: 'late', ip: '203.0.113.9', timestamp: START + 3.5 * MIN } };
    for (let delivery = 0; delivery < 2; delivery++) await handler(encodeKafkaEvent([straggler]));
    const late = [...stores.tables.sideOutput.values()].filter((r) => r.kind === 'late');
    expect(late.map((r) => [r.offset, r.pipeline, r.windowStart])).toEqual([[200, 'registrations', START + 3 * MIN]]);
    expect(reports.at(-2)!.late).toBe(1);
    expect(counts(stores)).toEqual(before);
  });
});
