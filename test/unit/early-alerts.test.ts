/**
 * Early alerts on the in-memory stores (which pass the DynamoDB adapters' contract): ingest raises
 * an early-decidable rule's alert from the write's own answer, exactly once per (window, rule)
 * under redelivery, re-cut batches, partial overlaps and a lost alert write; the closer adds the
 * final features to the same record, and raises at close what only the close can decide.
 */
import { describe, expect, it } from 'vitest';
import { closeWindows, type CloserDeps } from '../../lib/closer/close-windows.ts';
import { alertId } from '../../lib/closer/alert-id.ts';
import type { EarlyAlert } from '../../lib/closer/ports.ts';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import { decodeKafkaEvent } from '../../lib/codec/kafka-event.ts';
import { applyAggregate } from '../../lib/ingest/apply.ts';
import { EarlyAlerts } from '../../lib/ingest/early-alerts.ts';
import { planBatch } from '../../lib/ingest/plan.ts';
import type { IngestDeps } from '../../lib/ingest/ingest-batch.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { createRouter } from '../../lib/ingest/router.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { defaultRules } from '../../lib/rules/defaults.ts';
import type { Rule } from '../../lib/rules/rule.ts';
import { TransientStoreError } from '../../lib/store/errors.ts';
import { memoryStores } from '../../lib/store/memory/index.ts';
import { T0 } from '../support/records.ts';

const NOW = T0 + 60_000;
const WINDOW = Math.floor(T0 / 300_000) * 300_000;
const SPREE_ID = alertId('payments', 'u1', WINDOW, 'payments-spree');

/** `n` payments of user u1 within one 5-minute window, on user_events partition 0. */
const payments = (n: number, from = 0): RecordInput[] =>
  Array.from({ length: n }, (_, i) => ({
    topic: 'user_events',
    partition: 0,
    offset: from + i,
    key: 'u1',
    value: { user_id: 'u1', action: 'payment', amount: 5, timestamp: WINDOW + (from + i) * 1_000 },
    timestamp: WINDOW + (from + i) * 1_000,
  }));

function setup(options: { rules?: readonly Rule[]; failPuts?: number } = {}) {
  const stores = memoryStores({ now: () => NOW });
  let failures = options.failPuts ?? 0;
  const errors: string[] = [];
  const early = new EarlyAlerts({
    rules: async () => options.rules ?? defaultRules,
    alerts: {
      putEarlyAlert: async (a: EarlyAlert) => {
        // A throttled put, after the window write it follows has landed.
        if (failures-- > 0) throw new TransientStoreError('alerts: ProvisionedThroughputExceededException');
        return stores.alerts.putEarlyAlert(a);
      },
    },
    now: () => NOW,
    onError: (_err, what) => errors.push(what),
  });
  const deps: IngestDeps = {
    router: createRouter(builtinPipelines),
    windows: stores.windows,
    duePages: stores.duePages,
    watermarks: stores.watermarks,
    sideOutput: stores.sideOutput,
    options: { maxRecordBytes: 65_536, writeConcurrency: 4, watermarkDelayMs: 3_600_000 },
    early,
  };
  const closer = (rules: readonly Rule[] = options.rules ?? defaultRules): CloserDeps => ({
    store: stores.closer,
    alerts: stores.alerts,
    pipelines: builtinPipelines,
    rules: async () => rules,
    watermark: { delayMs: 0, idleTimeoutMs: 1, policy: 'min' },
    resultPipelines: new Set(['risk']),
    concurrency: 2,
    now: () => T0 + 3_600_000,
    remainingMs: () => 60_000,
    reserveMs: 0,
  });
  return { stores, deps, errors, ingest: createIngestHandler(deps), closer };
}

const alertsOf = (stores: ReturnType<typeof memoryStores>) => [...stores.tables.alerts.values()];

describe('early alerts at ingest', () => {
  it('fires when the rule first holds, with the features of that write and the partition offset that made it true', async () => {
    const { stores, ingest } = setup();
    await ingest(encodeKafkaEvent(payments(5)));
    expect(alertsOf(stores)).toEqual([]);
    // The 11th payment (offset 10) makes "count > 10" true.
    const report = await ingest(encodeKafkaEvent(payments(6, 5)));
    expect(report.batchItemFailures).toEqual([]);
    const [alert] = alertsOf(stores);
    expect(alert).toMatchObject({
      id: SPREE_ID,
      rule: 'payments-spree',
      alertType: 'payment_spree',
      timing: 'early',
      firedAt: NOW,
      firedBy: { partitionId: 'user_events-0', offset: 10 },
      windowStart: WINDOW,
      features: { count: 11, amount: 55 },
    });
    expect(alert!.finalFeatures).toBeUndefined();
    // Later writes to the window keep the one record, with the features that made it fire.
    await ingest(encodeKafkaEvent(payments(3, 11)));
    expect(alertsOf(stores)).toHaveLength(1);
    expect(alertsOf(stores)[0]!.features.count).toBe(11);
  });

  it('one record under redelivery and re-cut batches, and the closer adds the final features to it', async () => {
    const { stores, ingest, closer } = setup();
    const all = payments(14);
    await ingest(encodeKafkaEvent(all.slice(0, 8)));
    // A re-cut overlap: 5..12 (5..7 already applied), then everything again, then one by one.
    await ingest(encodeKafkaEvent(all.slice(5, 13)));
    await ingest(encodeKafkaEvent(all));
    for (const r of all) await ingest(encodeKafkaEvent([r]));
    const alerts = alertsOf(stores);
    expect(alerts).toHaveLength(1);
    // The partial write applied 8..12 onto the 8 stored: the answer says 13, not the batch's 8.
    expect(alerts[0]).toMatchObject({ timing: 'early', features: { count: 13 }, firedBy: { partitionId: 'user_events-0', offset: 12 } });
    expect(stores.tables.window('payments#u1', WINDOW)!.slots.get('count')).toBe(14);

    await stores.watermarks.advance({ topic: 'user_events', partition: 0, maxEventTime: T0 + 7_200_000, lastOffset: 13 });
    const report = await closeWindows(closer());
    expect(report.pipelines.find((p) => p.pipeline === 'payments')).toMatchObject({ closed: 1, alerts: 1, duplicateAlerts: 0 });
    const [closed] = alertsOf(stores);
    expect(closed).toMatchObject({ id: SPREE_ID, timing: 'early', features: { count: 13 }, finalFeatures: { count: 14, amount: 70 }, closedAt: T0 + 3_600_000, firedAt: NOW });
    // A second closer run (a crash before finishing, say) changes nothing.
    await closeWindows(closer());
    expect(alertsOf(stores)).toEqual([closed]);
  });

  it('a throttled alert write resumes the partition at the aggregate; the redelivered duplicate raises it', async () => {
    const { stores, ingest } = setup({ failPuts: 1 });
    const batch = payments(12);
    const report = await ingest(encodeKafkaEvent(batch));
    // The window write landed; the alert did not: the mapping is asked to redeliver from the aggregate.
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: { partition: 'user_events-0', offset: 0 } }]);
    expect(alertsOf(stores)).toEqual([]);
    expect(stores.tables.window('payments#u1', WINDOW)!.slots.get('count')).toBe(12);
    // The redelivery adds nothing (a duplicate) and records the alert from the stored window, at once.
    expect((await ingest(encodeKafkaEvent(batch))).batchItemFailures).toEqual([]);
    expect(alertsOf(stores)).toMatchObject([{ timing: 'early', features: { count: 12 }, firedBy: { offset: 11 } }]);
    expect(stores.tables.window('payments#u1', WINDOW)!.slots.get('count')).toBe(12);
  });

  it('a crash after the window write, before the alert: the redelivered duplicate raises it from the stored state', async () => {
    const { stores, deps, ingest } = setup();
    // The invocation that crashed: its window write landed; no alert, no partition mark.
    const batch = payments(12);
    for (const agg of planBatch(decodeKafkaEvent(encodeKafkaEvent(batch)), deps.router, { maxRecordBytes: 65_536 }).aggregates) {
      expect((await applyAggregate(stores.windows, agg)).status).toBe('applied');
    }
    expect(alertsOf(stores)).toEqual([]);
    // Nothing new is applied by the redelivery, but the refusal answers with what is stored: 12.
    const report = await ingest(encodeKafkaEvent(batch));
    expect(report.batchItemFailures).toEqual([]);
    expect(alertsOf(stores)).toMatchObject([{ timing: 'early', features: { count: 12 }, firedBy: { partitionId: 'user_events-0', offset: 11 } }]);
    expect(stores.tables.window('payments#u1', WINDOW)!.slots.get('count')).toBe(12);
  });

  it('a window that does not match raises nothing; a rule decided at close waits for the closer', async () => {
    const rules: Rule[] = [
      ...defaultRules.filter((r) => r.pipeline !== 'payments'),
      { id: 'few-payments', pipeline: 'payments', condition: 'count < 5', emitsAlert: true, alertType: 'quiet', priority: 1, enabled: true, version: 1, updatedAt: 0 },
      { id: 'spree', pipeline: 'payments', condition: 'count > 2', emitsAlert: true, alertType: 'spree', priority: 2, enabled: false, version: 1, updatedAt: 0 },
    ];
    const { stores, ingest, closer } = setup({ rules });
    await ingest(encodeKafkaEvent(payments(3)));
    // "count < 5" holds but could stop holding; the enabled early rule set is empty.
    expect(alertsOf(stores)).toEqual([]);
    await stores.watermarks.advance({ topic: 'user_events', partition: 0, maxEventTime: T0 + 7_200_000, lastOffset: 2 });
    await closeWindows(closer());
    expect(alertsOf(stores)).toMatchObject([{ rule: 'few-payments', timing: 'close', features: { count: 3 }, finalFeatures: { count: 3 }, closedAt: T0 + 3_600_000 }]);
    expect(alertsOf(stores)[0]!.firedBy).toBeUndefined();
  });

  it('a closed window raises nothing at ingest (its events are late)', async () => {
    const { stores, ingest, closer } = setup();
    await ingest(encodeKafkaEvent(payments(3)));
    await stores.watermarks.advance({ topic: 'user_events', partition: 0, maxEventTime: T0 + 7_200_000, lastOffset: 2 });
    await closeWindows(closer());
    const late = payments(10, 3).map((r) => ({ ...r, timestamp: T0 + 7_200_000 }));
    const report = await ingest(encodeKafkaEvent(late));
    expect(report.batchItemFailures).toEqual([]);
    expect(alertsOf(stores)).toEqual([]);
  });

  it('rules that cannot be read for now retry the batch before any write, as unread marks do', async () => {
    const stores = memoryStores({ now: () => NOW });
    let throttled = 1;
    const deps: IngestDeps = {
      router: createRouter(builtinPipelines),
      windows: stores.windows,
      duePages: stores.duePages,
      watermarks: stores.watermarks,
      sideOutput: stores.sideOutput,
      options: { maxRecordBytes: 65_536, writeConcurrency: 4, watermarkDelayMs: 3_600_000 },
      early: new EarlyAlerts({ rules: async () => (throttled-- > 0 ? Promise.reject(new TransientStoreError('state: throttled')) : defaultRules), alerts: stores.alerts, now: () => NOW }),
    };
    const handler = createIngestHandler(deps);
    const batch = encodeKafkaEvent(payments(12));
    expect((await handler(batch)).batchItemFailures).toEqual([{ itemIdentifier: { partition: 'user_events-0', offset: 0 } }]);
    expect(stores.tables.window('payments#u1', WINDOW)).toBeUndefined();
    expect((await handler(batch)).batchItemFailures).toEqual([]);
    expect(stores.tables.window('payments#u1', WINDOW)!.slots.get('count')).toBe(12);
    expect(alertsOf(stores)).toMatchObject([{ timing: 'early', features: { count: 12 } }]);
  });

  it('asks the store for the window only for pipelines with early rules', async () => {
    const rules = defaultRules.filter((r) => r.pipeline !== 'iot');
    const { stores, deps } = setup({ rules });
    const asked = new Map<string, boolean>();
    const windows = stores.windows;
    const handler = createIngestHandler({
      ...deps,
      windows: { write: (w) => (asked.set(w.pipeline, w.returnStored === true), windows.write(w)) },
    });
    const reading = (offset: number): RecordInput => ({ topic: 'iot_telemetry', partition: 0, offset, key: null, value: { device_id: 's1', temperature: 20, humidity: 50, timestamp: WINDOW }, timestamp: WINDOW });
    await handler(encodeKafkaEvent([...payments(2), reading(0)]));
    // The list has no iot rule, so no early one: its writes need no answer (the answer is the item).
    expect(Object.fromEntries(asked)).toEqual({ payments: true, risk: true, iot: false });
  });

  it('fires a risk rule early on distinct features, with bounded samples', async () => {
    const { stores, ingest } = setup();
    const HOUR = Math.floor(T0 / 3_600_000) * 3_600_000;
    const events: RecordInput[] = [
      { device_id: 'd1', location_city: 'Berlin' },
      { device_id: 'd1', location_city: 'Paris' },
      { device_id: 'd2', location_city: 'Paris' },
    ].map((v, i) => ({ topic: 'user_events', partition: 1, offset: i, key: null, value: { user_id: 7, action: 'view', ...v, timestamp: HOUR + i }, timestamp: HOUR + i }));
    for (const e of events) await ingest(encodeKafkaEvent([e]));
    expect(alertsOf(stores)).toMatchObject([
      {
        rule: 'risk-high',
        level: 'HIGH',
        timing: 'early',
        firedBy: { partitionId: 'user_events-1', offset: 2 },
        features: { devices: { count: 2, approximate: false, sample: ['d1', 'd2'] }, cities: { count: 2, approximate: false, sample: ['Berlin', 'Paris'] } },
      },
    ]);
  });
});
