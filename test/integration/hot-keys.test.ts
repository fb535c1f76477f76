/**
 * Hot keys against DynamoDB Local: a distinct feature is exact up to its cap, then an approximate
 * count in a bounded item; min/max candidates stay bounded; and through the real ingest handler and
 * closer, the 50,000-device user and the 40,000-user IP raise their alerts while every other window
 * closes too (issue 11, item 4).
 */
import { QueryCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeWindows, type CloserDeps } from '../../lib/closer/close-windows.ts';
import { SAMPLE_SIZE } from '../../lib/closer/output-features.ts';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { wireIngest } from '../../lib/ingest/wire.ts';
import { builtinPipelines, iot, payments, registrationsPerIp, risk } from '../../lib/pipelines/builtin.ts';
import type { DistinctSummary } from '../../lib/pipelines/features.ts';
import { wireRules } from '../../lib/rules/wire.ts';
import { alertFromItem, DynamoAlertStore } from '../../lib/store/dynamodb/alert-store.ts';
import { DynamoCloserStore } from '../../lib/store/dynamodb/closer-store.ts';
import { MAX_CANDIDATES } from '../../lib/store/bounds.ts';
import { storedWindowOf } from '../../lib/store/dynamodb/window-items.ts';
import { DynamoWindowStore } from '../../lib/store/dynamodb/window-store.ts';
import { TransientStoreError } from '../../lib/store/errors.ts';
import type { SlotWrite, WindowWrite } from '../../lib/store/ports.ts';
import { WINDOW_ATTR, windowPk, type TableNames } from '../../lib/store/tables.ts';
import { featuresOf } from '../../lib/windows/features-of.ts';
import { HLL_BYTES, HLL_ERROR_BOUND } from '../../lib/windows/hll.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';
import { itemSize } from '../support/item-size.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
// Recent event times: window items expire (TTL) a retention period after their end, and DynamoDB
// Local deletes expired items.
const T = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR;
const LIMIT = 400 * 1024;

let client: DynamoDBClient;
beforeAll(() => {
  client = localClient();
});
afterAll(() => client.destroy());

const within = (estimate: number, truth: number) => Math.abs(estimate - truth) <= HLL_ERROR_BOUND * truth;

async function windowItem(tables: TableNames, pipeline: string, key: string, windowStart: number): Promise<Record<string, AttributeValue>> {
  const out = await client.send(
    new QueryCommand({
      TableName: tables.windows,
      KeyConditionExpression: 'pk = :pk AND sk = :sk',
      ExpressionAttributeValues: { ':pk': { S: windowPk(pipeline, key) }, ':sk': { N: String(windowStart) } },
      ConsistentRead: true,
    }),
  );
  return out.Items![0]!;
}

describe('the window store, past a distinct cap', () => {
  let tables: TableNames;
  let store: DynamoWindowStore;
  beforeAll(async () => {
    tables = await freshTables(client);
    store = new DynamoWindowStore(client, { tableName: tables.windows, retentionMs: 86_400_000 });
  });

  /** A risk-window write from one partition's offsets [first, last]. */
  const write = (key: string, partition: number, first: number, last: number, slots: SlotWrite[]): WindowWrite => ({
    pipeline: 'risk',
    key,
    windowStart: T,
    windowEnd: T + HOUR,
    slots,
    marks: [{ partitionId: `user_events-${partition}`, below: first, setTo: last }],
  });
  const devices = (values: string[], exactUpTo = 10): SlotWrite => ({ name: 'devices', op: 'set', value: values, exactUpTo });
  const events = (n: number): SlotWrite => ({ name: 'events', op: 'add', value: n });
  const ids = (from: number, to: number, prefix = 'd') => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);
  const featuresAt = async (key: string) => featuresOf(risk, storedWindowOf(await windowItem(tables, 'risk', key, T)).slots);

  it('stays exact up to the cap, also when a write would pass it only counting values already stored', async () => {
    expect(await store.write(write('exact', 0, 0, 3, [events(4), devices(ids(1, 4))]))).toMatchObject({ applied: true });
    expect(await store.write(write('exact', 0, 4, 7, [events(4), devices(ids(5, 8))]))).toMatchObject({ applied: true });
    // 8 stored + 5 sent > 10, but 3 of them are stored: the union is 10, still exact (a second request).
    expect(await store.write(write('exact', 0, 8, 12, [events(5), devices([...ids(6, 8), ...ids(9, 10)])]))).toMatchObject({ applied: true });
    const f = await featuresAt('exact');
    expect([...(f.devices as string[])].sort()).toEqual(ids(1, 10).sort());
    expect(f.events).toBe(13);
    expect((await windowItem(tables, 'risk', 'exact', T))[WINDOW_ATTR.sketchPrefix + 'devices']).toBeUndefined();
  });

  it('continues as an approximate count at the first value past the cap, with the values before it as sample', async () => {
    await store.write(write('switch', 0, 0, 9, [events(10), devices(ids(1, 10))]));
    expect([...((await featuresAt('switch')).devices as string[])].sort()).toEqual(ids(1, 10).sort());
    await store.write(write('switch', 0, 10, 11, [events(2), devices(ids(10, 11))]));
    const f = await featuresAt('switch');
    const d = f.devices as DistinctSummary;
    expect(d.approximate).toBe(true);
    expect(d.count).toBe(11);
    expect(d.sample.sort()).toEqual(ids(1, 10).sort());
    expect(f.events).toBe(12);
    // More values: merged into the sketch, the sample stays as it was.
    await store.write(write('switch', 0, 12, 211, [events(200), devices(ids(12, 211))]));
    const after = (await featuresAt('switch')).devices as DistinctSummary;
    expect(within(after.count, 211)).toBe(true);
    expect(after.sample).toHaveLength(10);
  });

  it('takes a first write that alone passes the cap, and counts a redelivered one once', async () => {
    const first = write('burst', 0, 0, 24, [events(25), devices(ids(1, 25))]);
    expect(await store.write(first)).toMatchObject({ applied: true });
    // The same records again: refused by the offset mark (a duplicate), not re-applied.
    expect(await store.write(first)).toMatchObject({ applied: false, closed: false, marks: new Map([['user_events-0', 24]]) });
    const f = await featuresAt('burst');
    expect(f.events).toBe(25);
    expect((f.devices as DistinctSummary).count).toBe(25);
  });

  it('loses no value when many partitions write past the cap at once', async () => {
    const perPartition = 300;
    let gaveUp = 0;
    await Promise.all(
      Array.from({ length: 12 }, (_, p) =>
        (async () => {
          for (let b = 0; b < 3; b++) {
            const values = ids(p * perPartition + b * 100, p * perPartition + b * 100 + 99);
            const w = write('fan-in', p, b * 100, b * 100 + 99, [events(100), devices(values, 50)]);
            // A write that gives up under contention applied nothing; the mapping redelivers its batch.
            for (;;) {
              try {
                expect(await store.write(w)).toMatchObject({ applied: true });
                break;
              } catch (err) {
                if (!(err instanceof TransientStoreError)) throw err;
                gaveUp++;
              }
            }
          }
        })(),
      ),
    );
    console.log(`12 partitions racing on one sketch: ${gaveUp} of 36 writes gave up once or more (redelivered)`);
    const f = await featuresAt('fan-in');
    expect(f.events).toBe(12 * perPartition);
    const d = f.devices as DistinctSummary;
    expect(d.approximate).toBe(true);
    expect(within(d.count, 12 * perPartition)).toBe(true);
    expect(d.sample).toHaveLength(50);
  });

  it('keeps the item bounded at 50,000 and 1,000,000 distinct values', async () => {
    const sizes: Record<number, number> = {};
    let offset = 0;
    let distinct = 0;
    for (const target of [50_000, 1_000_000]) {
      while (distinct < target) {
        const n = Math.min(50_000, target - distinct);
        await store.write(write('million', 0, offset, offset + n - 1, [events(n), devices(ids(distinct, distinct + n - 1, 'device-'), 500)]));
        offset += n;
        distinct += n;
      }
      const item = await windowItem(tables, 'risk', 'million', T);
      sizes[target] = itemSize(item);
      const d = featuresOf(risk, storedWindowOf(item).slots).devices as DistinctSummary;
      expect(within(d.count, target), `estimate ${d.count} of ${target}`).toBe(true);
    }
    console.log(`window item with one distinct feature past a cap of 500: ${sizes[50_000]} bytes at 50,000 distinct values, ${sizes[1_000_000]} bytes at 1,000,000`);
    expect(sizes[1_000_000]).toBe(sizes[50_000]);
    expect(sizes[1_000_000]).toBeLessThan(500 * 20 + HLL_BYTES + 1_000);
  }, 120_000);

  it('keeps at most MAX_CANDIDATES min/max candidates, and the right extremes, under many writes', async () => {
    const readings = Array.from({ length: 300 }, (_, i) => Math.round(Math.sin(i * 7.3) * 500 + i / 3) / 10);
    const iotWrite = (partition: number, offset: number, v: number): WindowWrite => ({
      pipeline: 'iot',
      key: 'sensor',
      windowStart: T,
      windowEnd: T + MIN,
      slots: [
        { name: 'count', op: 'add', value: 1 },
        { name: 'temperatureMin', op: 'min', value: v },
        { name: 'temperatureMax', op: 'max', value: v },
      ],
      marks: [{ partitionId: `iot_telemetry-${partition}`, below: offset, setTo: offset }],
    });
    // Four partitions at once, so compactions race with additions.
    await Promise.all(
      [0, 1, 2, 3].map(async (p) => {
        for (let i = p; i < readings.length; i += 4) expect(await store.write(iotWrite(p, i, readings[i]!))).toMatchObject({ applied: true });
      }),
    );
    const item = await windowItem(tables, 'iot', 'sensor', T);
    expect(item[WINDOW_ATTR.slotPrefix + 'temperatureMin']!.NS!.length).toBeLessThanOrEqual(MAX_CANDIDATES);
    expect(item[WINDOW_ATTR.slotPrefix + 'temperatureMax']!.NS!.length).toBeLessThanOrEqual(MAX_CANDIDATES);
    expect(featuresOf(iot, storedWindowOf(item).slots)).toMatchObject({ count: 300, temperatureMin: Math.min(...readings), temperatureMax: Math.max(...readings) });
  });
});

describe('hot keys through the ingest handler and the closer', () => {
  it('raises the alerts of a 50,000-device user and a 40,000-user IP, and closes every other window', async () => {
    const tables = await freshTables(client);
    const now = () => 1_000_000;
    const ingest = createIngestHandler(
      wireIngest(client, loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput }), builtinPipelines, now),
    );
    const { cache } = wireRules(client, { stateTable: tables.state, now, ttlMs: 0 });
    const deps: CloserDeps = {
      store: new DynamoCloserStore(client, { windowsTable: tables.windows, stateTable: tables.state }),
      alerts: new DynamoAlertStore(client, { tableName: tables.alerts, retentionMs: 86_400_000 }),
      pipelines: [payments, risk, registrationsPerIp],
      rules: () => cache.rules(),
      watermark: { delayMs: 10 * MIN, idleTimeoutMs: 5 * MIN, policy: 'min' },
      resultPipelines: new Set(['risk']),
      concurrency: 8,
      now,
      remainingMs: () => 60_000,
      reserveMs: 1_000,
    };
    const offsets = new Map<string, number>();
    const send = async (topic: string, partition: number, values: Record<string, unknown>[], batch = 2_500) => {
      for (let i = 0; i < values.length; i += batch) {
        const records: RecordInput[] = values.slice(i, i + batch).map((value) => {
          const id = `${topic}-${partition}`;
          const offset = offsets.get(id) ?? 0;
          offsets.set(id, offset + 1);
          return { topic, partition, offset, value };
        });
        expect(await ingest(encodeKafkaEvent(records))).toEqual({ batchItemFailures: [] });
      }
    };

    // Partition 0: the hot user, 50,000 devices in one hour, from two cities.
    const hotUser = Array.from({ length: 50_000 }, (_, i) => ({
      user_id: 'hot-user',
      action: 'view',
      device_id: `device-${i}`,
      location_city: i % 2 ? 'Lagos' : 'Oslo',
      timestamp: T + Math.floor((i * HOUR) / 50_000),
    }));
    await send('user_events', 0, hotUser);
    // Partition 1: ordinary users, two of them on a payment spree.
    const ordinary = [1, 2, 3, 4, 5].flatMap((u) =>
      Array.from({ length: u <= 2 ? 12 : 3 }, (_, i) => ({ user_id: u, action: 'payment', amount: 10, device_id: `d${u}`, location_city: 'Oslo', timestamp: T + u * MIN + i * 1000 })),
    );
    await send('user_events', 1, ordinary);
    // Registrations: the hot IP with 40,000 users in ten minutes; two small bursts and quiet IPs.
    const hotIp = Array.from({ length: 40_000 }, (_, i) => ({ user_id: `bot-${i}`, ip: '192.0.2.7', timestamp: T + Math.floor((i * 10 * MIN) / 40_000) }));
    await send('user_registrations', 0, hotIp);
    const others = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4'].flatMap((ip, k) =>
      Array.from({ length: k < 2 ? 25 : 4 }, (_, i) => ({ user_id: `${ip}-u${i}`, ip, timestamp: T + i * 1000 })),
    );
    await send('user_registrations', 1, others);
    // Every partition moves on, so the watermark passes every window above.
    for (const p of [0, 1]) {
      await send('user_events', p, [{ user_id: 99, action: 'view', timestamp: T + 3 * HOUR }]);
      await send('user_registrations', p, [{ user_id: 'late-comer', ip: '198.51.100.9', timestamp: T + 3 * HOUR }]);
    }

    // The hot windows stay inside DynamoDB's item limit.
    const riskItem = await windowItem(tables, 'risk', 'hot-user', T);
    const ipItem = await windowItem(tables, 'registrations', '192.0.2.7', T);
    console.log(`hot user window item: ${itemSize(riskItem)} bytes; hot IP window item: ${itemSize(ipItem)} bytes`);
    expect(itemSize(riskItem)).toBeLessThan(LIMIT / 4);
    expect(itemSize(ipItem)).toBeLessThan(LIMIT / 4);
    const quarantined = await client.send(new ScanCommand({ TableName: tables.sideOutput }));
    expect(quarantined.Items ?? []).toEqual([]);

    for (let run = 0; run < 5; run++) if (!(await closeWindows(deps)).incomplete) break;

    // The alert records, as the dispatcher reads them from the stream and sends them.
    const recorded = ((await client.send(new ScanCommand({ TableName: tables.alerts }))).Items ?? []).filter((i) => i.sk!.S === 'alert').map(alertFromItem);
    const alertOf = (alertType: string, key: string) => recorded.find((a) => a.alertType === alertType && a.key === key);
    // Registrations are hopping (10 minutes every minute), grouped by 10-minute spans of window start:
    // the burst [T, T+10) matches windows starting T-9 min (the group of T-10 min, recorded by its
    // earliest window, holding the first minute) to T+9 min (the group of T, recorded by [T, T+10)).
    const hot = recorded.filter((a) => a.alertType === 'suspicious_ip' && a.key === '192.0.2.7').sort((a, b) => a.windowStart - b.windowStart);
    expect(hot.map((a) => [a.windowStart - T, a.features.registrations])).toEqual([
      [-9 * MIN, 4_000],
      [0, 40_000],
    ]);
    const ip = hot[1]!;
    expect(ip.features.registrations).toBe(40_000);
    const users = ip.features.users as DistinctSummary;
    expect(users.approximate).toBe(true);
    expect(within(users.count, 40_000), `estimate ${users.count}`).toBe(true);
    expect(users.sample).toHaveLength(SAMPLE_SIZE);
    const user = alertOf('account_risk', 'hot-user')!;
    expect(user).toMatchObject({ level: 'HIGH', features: { events: 50_000, cities: { count: 2, approximate: false, sample: ['Lagos', 'Oslo'] } } });
    const devices = user.features.devices as DistinctSummary;
    expect(devices.approximate).toBe(true);
    expect(within(devices.count, 50_000), `estimate ${devices.count}`).toBe(true);
    // The other windows' alerts too.
    expect(alertOf('suspicious_ip', '198.51.100.1')).toBeDefined();
    expect(alertOf('suspicious_ip', '198.51.100.2')).toBeDefined();
    expect(alertOf('payment_spree', '1')).toBeDefined();
    expect(alertOf('payment_spree', '2')).toBeDefined();

    // Every window the watermark passed is closed and out of the due index; alert and result items are small.
    const windows = (await client.send(new ScanCommand({ TableName: tables.windows, ConsistentRead: true }))).Items!;
    const passed = windows.filter((w) => Number(w[WINDOW_ATTR.windowEnd]!.N) <= T + 3 * HOUR - 10 * MIN);
    expect(passed.length).toBeGreaterThan(10);
    for (const w of passed) expect([w.pk!.S, w[WINDOW_ATTR.closedAt] !== undefined, w[WINDOW_ATTR.dueShard]]).toEqual([w.pk!.S, true, undefined]);
    const outputs = (await client.send(new ScanCommand({ TableName: tables.alerts }))).Items!;
    const largest = Math.max(...outputs.map(itemSize));
    console.log(`largest alert or risk result item: ${largest} bytes`);
    expect(largest).toBeLessThan(8 * 1024);
  }, 300_000);
});
