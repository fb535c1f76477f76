/**
 * The window closer against DynamoDB Local: watermark, idle partitions, late data, racing
 * closers, crash recovery and rules changed at run time.
 */
import { QueryCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeWindows, type CloserDeps } from '../../lib/closer/close-windows.ts';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { wireIngest } from '../../lib/ingest/wire.ts';
import { builtinPipelines, payments, registrationsPerIp, risk } from '../../lib/pipelines/builtin.ts';
import { wireRules } from '../../lib/rules/wire.ts';
import { alertFromItem, DynamoAlertStore, storedAlertOf } from '../../lib/store/dynamodb/alert-store.ts';
import { DynamoCloserStore } from '../../lib/store/dynamodb/closer-store.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';
import { isDuePagePk } from '../../lib/store/tables.ts';

const MIN = 60_000;
const T = Date.parse('2026-11-23T10:00:00Z');

let client: DynamoDBClient;
beforeAll(() => {
  client = localClient();
});
afterAll(() => client.destroy());

async function setup(options: { idleTimeoutMs?: number } = {}) {
  const tables = await freshTables(client);
  // Wall-clock based: the stores count retention from it, and a 1970 clock would write items TTL deletes at once.
  const clock = { now: Date.now() };
  const now = () => clock.now;
  const ingest = createIngestHandler(
    wireIngest(client, loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput }), builtinPipelines, now),
  );
  const { store: rules, cache } = wireRules(client, { stateTable: tables.state, now, ttlMs: 0 });
  const deps: CloserDeps = {
    store: new DynamoCloserStore(client, { windowsTable: tables.windows, stateTable: tables.state }),
    alerts: new DynamoAlertStore(client, { tableName: tables.alerts, retentionMs: 86_400_000 }),
    pipelines: [payments, risk],
    rules: () => cache.rules(),
    watermark: { delayMs: 10 * MIN, idleTimeoutMs: options.idleTimeoutMs ?? 5 * MIN, policy: 'min' },
    resultPipelines: new Set(['risk']),
    concurrency: 8,
    now,
    remainingMs: () => 60_000,
    reserveMs: 1_000,
  };
  const offsets = new Map<number, number>();
  const send = async (partition: number, events: Record<string, unknown>[]) => {
    const records: RecordInput[] = events.map((value) => {
      const offset = offsets.get(partition) ?? 0;
      offsets.set(partition, offset + 1);
      return { topic: 'user_events', partition, offset, value };
    });
    return ingest(encodeKafkaEvent(records));
  };
  const alertRecords = async () => ((await client.send(new ScanCommand({ TableName: tables.alerts }))).Items ?? []).filter((i) => i.sk!.S === 'alert');
  // The records are the emission: the dispatcher sends each one on from the table's stream.
  const recorded = async () => (await alertRecords()).map(alertFromItem);
  return { tables, clock, deps, recorded, rules, send, alertRecords };
}

const payment = (user: number, at: number) => ({ user_id: user, action: 'payment', amount: 10, timestamp: at });
const spree = (user: number, at: number, n = 11) => Array.from({ length: n }, (_, i) => payment(user, at + i * 1000));

describe('closeWindows', () => {
  it('closes a window only once the watermark passes its end, then turns late events away', async () => {
    const { deps, send, recorded, alertRecords, tables } = await setup();
    await send(0, spree(7, T));
    let report = await closeWindows(deps);
    expect(report.pipelines.find((p) => p.pipeline === 'payments')).toMatchObject({ watermark: T + 10_000 - 10 * MIN, closed: 0 });

    // Max event time T+15m: watermark T+5m = the payments window's end.
    await send(0, [payment(8, T + 15 * MIN)]);
    report = await closeWindows(deps);
    expect(report.pipelines.find((p) => p.pipeline === 'payments')).toMatchObject({ watermark: T + 5 * MIN, closed: 1, alerts: 1 });
    expect(await recorded()).toMatchObject([{ pipeline: 'payments', key: '7', rule: expect.any(String), windowStart: T, features: { count: 11, amount: 110 } }]);

    // A late payment for the closed window is counted, stored as late, never applied.
    const late = await send(0, [payment(7, T + 2 * MIN)]);
    expect(late).toEqual({ batchItemFailures: [] });
    const lateRows = await client.send(
      new QueryCommand({ TableName: tables.sideOutput, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'late#user_events-0' } } }),
    );
    expect(lateRows.Items!.map((i) => [Number(i.offset!.N), i.pipeline!.S, i.windowKey!.S])).toEqual([[12, 'payments', '7']]);
    report = await closeWindows(deps);
    expect(await alertRecords()).toHaveLength(1);
  });

  it('stops waiting for an idle partition after the idle timeout', async () => {
    const { deps, send, clock } = await setup({ idleTimeoutMs: 5 * MIN });
    await send(0, spree(7, T));
    await send(1, [payment(9, T + 20 * MIN)]);
    // Partition 0 holds the watermark at T+10s-10m.
    expect((await closeWindows(deps)).pipelines[0]).toMatchObject({ watermark: T + 10_000 - 10 * MIN, closed: 0 });
    clock.now += 4 * MIN;
    await send(1, [payment(9, T + 21 * MIN)]);
    expect((await closeWindows(deps)).pipelines[0]).toMatchObject({ closed: 0 });
    // Partition 0 has not advanced for 6 minutes: idle; partition 1 alone sets T+11m.
    clock.now += 2 * MIN;
    expect((await closeWindows(deps)).pipelines[0]).toMatchObject({ watermark: T + 11 * MIN, closed: 1, alerts: 1 });
  });

  it('gives one alert record per window and rule when two closers race', async () => {
    const { deps, send, alertRecords } = await setup();
    for (let u = 0; u < 30; u++) await send(u % 2, spree(u, T));
    await send(0, [payment(999, T + 70 * MIN)]);
    await send(1, [payment(999, T + 70 * MIN)]);
    const [a, b] = await Promise.all([closeWindows(deps), closeWindows(deps)]);
    const pa = a.pipelines.find((p) => p.pipeline === 'payments')!;
    const pb = b.pipelines.find((p) => p.pipeline === 'payments')!;
    expect(pa.closed + pb.closed).toBe(30);
    expect(pa.alerts + pb.alerts).toBe(30);
    const records = await alertRecords();
    expect(records.filter((r) => r.pipeline!.S === 'payments')).toHaveLength(30);
    expect(new Set(records.map((r) => r.id!.S)).size).toBe(records.length);
  });

  it('finishes windows a crashed run left closed but unfinished, without a second alert record', async () => {
    const { deps, send, alertRecords } = await setup();
    await send(0, spree(7, T));
    await send(0, [payment(8, T + 70 * MIN)]);
    await expect(closeWindows({ ...deps, beforeFinish: () => Promise.reject(new Error('closer crashed')) })).rejects.toThrow('closer crashed');
    const report = await closeWindows(deps);
    expect(report.pipelines.find((p) => p.pipeline === 'payments')).toMatchObject({ closed: 0, recovered: 1, alerts: 0, duplicateAlerts: 1 });
    // One record, so one INSERT on the stream: the crash costs the dispatcher nothing to resend.
    expect(await alertRecords()).toHaveLength(1);
    expect((await closeWindows(deps)).pipelines.every((p) => p.closed + p.recovered === 0)).toBe(true);
  });

  it('applies a rule changed in the store on the next run, and records risk results for every risk window', async () => {
    const { deps, send, rules, recorded, tables } = await setup();
    await send(0, [payment(1, T), payment(1, T + 1000), payment(2, T)]);
    await rules.put({ id: 'pay-twice', pipeline: 'payments', condition: 'count >= 2', emitsAlert: true, alertType: 'payment_spree', level: 'MEDIUM', priority: 1 });
    await expect(rules.put({ id: 'bad', pipeline: 'payments', condition: 'cnt > 2', emitsAlert: true, alertType: 'x', priority: 1 })).rejects.toThrow(/unknown feature "cnt"/);
    await send(0, [payment(3, T + 80 * MIN)]);
    await closeWindows(deps);
    expect((await recorded()).map((a) => [a.pipeline, a.key, a.rule])).toEqual([['payments', '1', 'pay-twice']]);
    // The verdict is kept on each closed risk window's item, where a Query by key finds it.
    const results = (await client.send(new ScanCommand({ TableName: tables.windows }))).Items!.filter((i) => i.pk!.S!.startsWith('risk#') && i.closedAt);
    expect(results.map((r) => [r.windowKey!.S, r.riskLevel?.S]).sort()).toEqual([['1', 'LOW'], ['2', 'LOW']]);
  });
});

describe('closeWindows on a hopping pipeline (registrations, 10 minutes every minute)', () => {
  // 30 sign-ups from one IP between 09:55 and 10:05 over two partitions: 15 on each side of 10:00.
  const START = T - 5 * MIN;
  const burst: RecordInput[] = Array.from({ length: 30 }, (_, i) => ({
    topic: 'user_registrations',
    partition: i % 2,
    offset: Math.floor(i / 2),
    value: { user_id: `u${i}`, ip: '198.51.100.7', timestamp: START + i * 20_000 },
  }));

  async function hoppingSetup(early: boolean) {
    const tables = await freshTables(client);
    const now = () => Date.now();
    const config = loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput, ...(early ? { ALERTS_TABLE: tables.alerts } : {}) });
    const ingest = createIngestHandler(wireIngest(client, config, [registrationsPerIp], now));
    const { cache } = wireRules(client, { stateTable: tables.state, now, ttlMs: 0 });
    const deps: CloserDeps = {
      store: new DynamoCloserStore(client, { windowsTable: tables.windows, stateTable: tables.state }),
      alerts: new DynamoAlertStore(client, { tableName: tables.alerts, retentionMs: 86_400_000 }),
      pipelines: [registrationsPerIp],
      rules: () => cache.rules(),
      // Every partition idle and the watermark a day past the last event: every window is evaluated.
      watermark: { delayMs: -86_400_000, idleTimeoutMs: 1, policy: 'min' },
      resultPipelines: new Set(),
      concurrency: 8,
      now: () => Date.now() + 1_000,
      remainingMs: () => 60_000,
      reserveMs: 0,
    };
    const records = async () => ((await client.send(new ScanCommand({ TableName: tables.alerts }))).Items ?? []).filter((i) => i.sk!.S === 'alert').map(storedAlertOf);
    return { tables, ingest, deps, records };
  }

  it('stores buckets and raises the straddling burst once, recorded by the earliest matching window', async () => {
    const { tables, ingest, deps, records } = await hoppingSetup(false);
    expect(await ingest(encodeKafkaEvent(burst))).toEqual({ batchItemFailures: [] });
    const all = (await client.send(new ScanCommand({ TableName: tables.windows }))).Items ?? [];
    // The batch's due pages share the table: one per bucket end here (one key, ten buckets).
    const items = all.filter((i) => !isDuePagePk(i.pk!.S!));
    expect(items).toHaveLength(10);
    expect(all.length - items.length).toBe(10);
    expect(items.every((i) => i.bucketOfSizeMs?.N === String(10 * MIN) && Number(i.windowEnd!.N) - Number(i.windowStart!.N) === MIN)).toBe(true);
    const report = await closeWindows(deps);
    expect(report.pipelines[0]).toMatchObject({ alerts: 1, windowsEvaluated: 19 });
    expect((await records()).map((a) => [a.windowStart - START, a.windowEnd - START, a.timing, a.features.registrations])).toEqual([[-3 * MIN, 7 * MIN, 'close', 21]]);
    // Every bucket closed and out of the due index.
    const after = (await client.send(new ScanCommand({ TableName: tables.windows }))).Items ?? [];
    expect(after.filter((i) => !isDuePagePk(i.pk!.S!)).every((i) => i.closedAt !== undefined && i.dueShard === undefined)).toBe(true);
    // Every page went once its bucket was settled.
    expect(after.filter((i) => isDuePagePk(i.pk!.S!))).toEqual([]);
  });

  it('keeps one record when early alerts fire, the batch is delivered twice and two closers race', async () => {
    const { ingest, deps, records } = await hoppingSetup(true);
    for (let delivery = 0; delivery < 2; delivery++) await ingest(encodeKafkaEvent(burst));
    const early = await records();
    expect(early.map((a) => a.timing)).toEqual(['early']);
    await Promise.all([closeWindows(deps), closeWindows(deps)]);
    const done = await records();
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ id: early[0]!.id, windowStart: early[0]!.windowStart, timing: 'early' });
    expect(done[0]!.finalFeatures?.registrations).toBeGreaterThan(20);
  });
});
