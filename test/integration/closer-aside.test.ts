/**
 * One window that cannot close must not hold up the others, and throttled reads must not fail the
 * run. Against DynamoDB Local: windows whose result is refused (over 400 KB), whose item is
 * malformed or missing are set aside (a record with the reason,
 * out of the due index) while every other window closes; throttled reads of the marks or the due
 * index defer to the next run (report.incomplete) instead of throwing.
 */
import { PutItemCommand, QueryCommand, GetItemCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeWindows, type CloserDeps } from '../../lib/closer/close-windows.ts';
import type { CloserStore, DueWindow } from '../../lib/closer/ports.ts';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { wireIngest } from '../../lib/ingest/wire.ts';
import { builtinPipelines, payments, risk } from '../../lib/pipelines/builtin.ts';
import { wireRules } from '../../lib/rules/wire.ts';
import { DynamoAlertStore } from '../../lib/store/dynamodb/alert-store.ts';
import { DynamoCloserStore } from '../../lib/store/dynamodb/closer-store.ts';
import { duePageShardOf, dueShardOf, isDuePagePk, windowPk, windowsTable } from '../../lib/store/tables.ts';
import { pagedWindowsOf } from '../../lib/store/dynamodb/due-page-store.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T = Date.parse('2026-11-23T10:00:00Z');

/** What the SDK throws when DynamoDB throttles past its retries (as the chaos layer does). */
const throttled = () =>
  Object.assign(new Error('rate of requests exceeds the allowed throughput'), { name: 'ProvisionedThroughputExceededException', $fault: 'client', $metadata: { httpStatusCode: 400 } });

let client: DynamoDBClient;
beforeAll(() => {
  client = localClient();
});
afterAll(() => client.destroy());

async function setup(o: { store?: (store: CloserStore) => CloserStore; closerClient?: DynamoDBClient } = {}) {
  const tables = await freshTables(client);
  // Wall-clock based: the stores count retention from it, and a 1970 clock would write items TTL deletes at once.
  const clock = { now: Date.now() };
  const now = () => clock.now;
  const ingest = createIngestHandler(
    wireIngest(client, loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput }), builtinPipelines, now),
  );
  const { cache } = wireRules(client, { stateTable: tables.state, now, ttlMs: 0 });
  const closerClient = o.closerClient ?? client;
  const store = new DynamoCloserStore(closerClient, { windowsTable: tables.windows, stateTable: tables.state });
  const deps: CloserDeps = {
    store: o.store ? o.store(store) : store,
    alerts: new DynamoAlertStore(closerClient, { tableName: tables.alerts, retentionMs: 86_400_000 }),
    pipelines: [payments, risk],
    rules: () => cache.rules(),
    watermark: { delayMs: 10 * MIN, idleTimeoutMs: 5 * MIN, policy: 'min' },
    resultPipelines: new Set(['risk']),
    concurrency: 4,
    now,
    remainingMs: () => 60_000,
    reserveMs: 1_000,
  };
  const offset = { n: 0 };
  const send = async (events: Record<string, unknown>[]) => {
    const records: RecordInput[] = events.map((value) => ({ topic: 'user_events', partition: 0, offset: offset.n++, value }));
    return ingest(encodeKafkaEvent(records));
  };
  /** Windows of a pipeline still due: with their own index entry, or on a due page still in it and not finished. */
  const due = async (pipeline: string) => {
    const keys = new Set<string>();
    for (let shard = 0; shard < 16; shard++) {
      const out = await client.send(
        new QueryCommand({
          TableName: tables.windows,
          IndexName: windowsTable.indexes[0]!.name,
          KeyConditionExpression: 'dueShard = :ds',
          ExpressionAttributeValues: { ':ds': { S: `${pipeline}#${shard}` } },
        }),
      );
      for (const entry of out.Items ?? []) {
        if (!isDuePagePk(entry.pk!.S!)) {
          keys.add(entry.pk!.S!);
          continue;
        }
        const page = (await client.send(new GetItemCommand({ TableName: tables.windows, Key: { pk: entry.pk!, sk: entry.sk! }, ConsistentRead: true }))).Item!;
        for (const w of pagedWindowsOf(page)) {
          const item = (await client.send(new GetItemCommand({ TableName: tables.windows, Key: { pk: { S: windowPk(pipeline, w.key) }, sk: { N: String(w.windowStart) } }, ConsistentRead: true }))).Item;
          if (item && item.finishedAt === undefined && item.setAsideAt === undefined) keys.add(windowPk(pipeline, w.key));
        }
      }
    }
    return [...keys].sort();
  };
  const asideRecords = async (pipeline: string) =>
    (await client.send(new QueryCommand({ TableName: tables.alerts, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: `aside#${pipeline}` } } }))).Items ?? [];
  const alertRecords = async () => ((await client.send(new ScanCommand({ TableName: tables.alerts }))).Items ?? []).filter((i) => i.sk!.S === 'alert');
  return { tables, clock, deps, alertRecords, send, due, asideRecords };
}

const payment = (user: number, at: number) => ({ user_id: user, action: 'payment', amount: 10, device_id: 'd1', location_city: 'Berlin', timestamp: at });
const spree = (user: number, at: number, n = 11) => Array.from({ length: n }, (_, i) => payment(user, at + i * 1000));
/** Users 1-5 spend in the first window; a later event moves the watermark past the risk hour. */
async function traffic(send: (events: Record<string, unknown>[]) => Promise<unknown>) {
  for (let u = 1; u <= 5; u++) await send(spree(u, T));
  await send([payment(99, T + 2 * HOUR)]);
}

/** A window item written straight to the table, in the due index, as ingest would leave it. */
function windowItem(pipeline: string, key: string, windowStart: number, windowEnd: number, extra: Record<string, any> = {}) {
  return {
    pk: { S: windowPk(pipeline, key) },
    sk: { N: String(windowStart) },
    pipeline: { S: pipeline },
    windowKey: { S: key },
    windowStart: { N: String(windowStart) },
    windowEnd: { N: String(windowEnd) },
    dueShard: { S: dueShardOf(pipeline, key) },
    version: { N: '1' },
    ...extra,
  };
}

describe('closer: windows that cannot close are set aside', () => {
  it('sets aside a window whose closing write (with its verdict) is refused for good, closes every other window, and does not retry it', async () => {
    const { tables, deps: base, send, due, asideRecords, alertRecords } = await setup();
    await traffic(send);
    await client.send(new PutItemCommand({ TableName: tables.windows, Item: windowItem('risk', 'huge', T, T + HOUR, { f_events: { N: '40000' } }) }));
    // The verdict rides on the window's closing write; an item at DynamoDB's limit refuses the
    // extra attributes with this error, played by the store.
    const real = base.store;
    const deps: CloserDeps = {
      ...base,
      store: {
        ...bind(real),
        closeQuietly: async (w, version, now, verdict) => {
          if (w.key === 'huge') throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException' });
          return real.closeQuietly(w, version, now, verdict);
        },
      },
    };

    const report = await closeWindows(deps);
    expect(report.incomplete).toBe(false);
    expect(report.setAside).toMatchObject([{ pipeline: 'risk', key: 'huge', windowStart: T, reason: expect.stringMatching(/^ValidationException: .*size/i) }]);
    const r = report.pipelines.find((p) => p.pipeline === 'risk')!;
    expect(r).toMatchObject({ closed: 5, setAside: 1, deferred: 0 });
    expect(report.pipelines.find((p) => p.pipeline === 'payments')).toMatchObject({ closed: 5, alerts: 5 });
    expect(await alertRecords()).toHaveLength(5);
    // Out of the due index (only the windows the watermark has not passed remain), closed, marked, recorded.
    expect(await due('risk')).toEqual(['risk#99']);
    const item = (await client.send(new GetItemCommand({ TableName: tables.windows, Key: { pk: { S: 'risk#huge' }, sk: { N: String(T) } } }))).Item!;
    expect(item.closedAt?.N).toBeDefined();
    expect(item.setAsideAt?.N).toBeDefined();
    const records = await asideRecords('risk');
    expect(records.map((x) => [x.windowKey!.S, Number(x.windowStart!.N), Number(x.windowEnd!.N)])).toEqual([['huge', T, T + HOUR]]);
    expect(records[0]!.reason!.S).toMatch(/ValidationException/);

    // The next run does not see it again.
    const again = await closeWindows(deps);
    expect(again.setAside).toEqual([]);
    expect(again.incomplete).toBe(false);
  });

  it('sets aside a malformed window and one in the due index but not in the table; the rest close', async () => {
    const { tables, send, due, asideRecords, deps } = await setup({
      // A due-index entry whose item is gone (the index lags the table): the real store is asked to close it.
      store: (real) => ({
        ...bind(real),
        dueWindows: async (pipeline, shard, upTo, limit, after) => {
          const page = await real.dueWindows(pipeline, shard, upTo, limit, after);
          const ghost: DueWindow = { pipeline, key: 'ghost', windowStart: T, windowEnd: T + 5 * MIN };
          return pipeline === 'payments' && shard === 0 && !after ? { ...page, windows: [ghost, ...page.windows] } : page;
        },
      }),
    });
    await traffic(send);
    // No windowKey attribute: the item cannot be read back as a window.
    const broken = windowItem('payments', 'broken', T, T + 5 * MIN, { f_count: { N: '3' } });
    delete (broken as Record<string, unknown>).windowKey;
    await client.send(new PutItemCommand({ TableName: tables.windows, Item: broken }));

    const report = await closeWindows(deps);
    expect(report.incomplete).toBe(false);
    expect(report.setAside.map((w) => [w.key, w.reason.replace(/:.*/, '')]).sort()).toEqual([
      ['broken', 'UnclosableWindowError'],
      ['ghost', 'UnclosableWindowError'],
    ]);
    expect(report.setAside.find((w) => w.key === 'ghost')!.reason).toMatch(/in the due index but not in the table/);
    expect(report.setAside.find((w) => w.key === 'broken')!.reason).toMatch(/malformed/);
    expect(report.pipelines.find((p) => p.pipeline === 'payments')).toMatchObject({ closed: 5, alerts: 5, setAside: 2 });
    expect(await due('payments')).toEqual(['payments#99']);
    expect((await asideRecords('payments')).map((x) => x.windowKey!.S).sort()).toEqual(['broken', 'ghost']);
    // Setting aside never creates the missing item.
    expect((await client.send(new GetItemCommand({ TableName: tables.windows, Key: { pk: { S: 'payments#ghost' }, sk: { N: String(T) } } }))).Item).toBeUndefined();
  });
  // An alert the topic refuses is the dispatcher's to hand on (test/unit/dispatcher.test.ts): the closer never sees the topic.
});

/** The store's methods bound to it, to override one in a test. */
function bind(store: CloserStore): CloserStore {
  return {
    partitionMarks: (t) => store.partitionMarks(t),
    dueWindows: (...a) => store.dueWindows(...a),
    read: (w) => store.read(w),
    closeQuietly: (w, v, n, verdict) => store.closeQuietly(w, v, n, verdict),
    close: (w, n) => store.close(w, n),
    finish: (w, verdict, n) => store.finish(w, verdict, n),
    readDuePage: (e) => store.readDuePage(e),
    deleteDuePage: (e) => store.deleteDuePage(e),
    setAside: (w, n) => store.setAside(w, n),
    saveWatermark: (p, w) => store.saveWatermark(p, w),
    buckets: (...a) => store.buckets(...a),
    advanceBucket: (w, e) => store.advanceBucket(w, e),
  };
}

describe('closer: throttled reads defer to the next run', () => {
  /** A closer client whose Query requests are throttled past retries while `when` says so. */
  function throttlingClient(when: (input: Record<string, any>) => boolean): DynamoDBClient {
    const c = localClient({ maxAttempts: 1 });
    c.middlewareStack.add(
      (next, context) => async (args) => {
        if ((context as { commandName?: string }).commandName === 'QueryCommand' && when((args as { input: Record<string, any> }).input)) throw throttled();
        return next(args);
      },
      { step: 'initialize', name: 'testThrottle' },
    );
    return c;
  }

  it('defers a pipeline whose partition marks are throttled and closes the others', async () => {
    let throttle = true;
    const closerClient = throttlingClient((input) => throttle && !input.IndexName && String(input.ExpressionAttributeValues?.[':pk']?.S).startsWith('watermark#'));
    const { deps, send } = await setup({ closerClient });
    await traffic(send);
    // Both pipelines read user_events' marks: both wait, and the run returns instead of throwing.
    let report = await closeWindows(deps);
    expect(report.incomplete).toBe(true);
    expect(report.pipelines.map((p) => [p.pipeline, p.closed, p.readsDeferred?.split(':')[0]])).toEqual([
      ['payments', 0, 'ProvisionedThroughputExceededException'],
      ['risk', 0, 'ProvisionedThroughputExceededException'],
    ]);
    throttle = false;
    report = await closeWindows(deps);
    expect(report.incomplete).toBe(false);
    expect(report.pipelines.map((p) => [p.pipeline, p.closed])).toEqual([['payments', 5], ['risk', 5]]);
    closerClient.destroy();
  });

  it('defers the throttled shards of the due index and closes the windows of the others', async () => {
    let throttle = true;
    // The shard of the windows' due pages; a window of an older deployment, with its own entry in another shard, closes.
    const throttledShard = duePageShardOf('payments', '2');
    const closerClient = throttlingClient((input) => throttle && input.IndexName !== undefined && input.ExpressionAttributeValues?.[':ds']?.S === throttledShard);
    const { deps, send, due, tables } = await setup({ closerClient });
    await traffic(send);
    const legacyKey = ['a', 'b', 'c', 'd', 'e', 'f'].find((k) => dueShardOf('payments', k) !== throttledShard)!;
    await client.send(new PutItemCommand({ TableName: tables.windows, Item: windowItem('payments', legacyKey, T, T + 5 * MIN, { f_count: { N: '1' } }) }));
    let report = await closeWindows(deps);
    expect(report.incomplete).toBe(true);
    const payments = () => report.pipelines.find((p) => p.pipeline === 'payments')!;
    expect(payments().readsDeferred).toMatch(/ProvisionedThroughputExceededException/);
    // Every window outside the throttled shard closed.
    const left = await due('payments');
    expect(left).toContain('payments#2');
    expect(left).not.toContain(`payments#${legacyKey}`);
    expect(left.filter((k) => k !== 'payments#99').every((k) => duePageShardOf('payments', k.slice('payments#'.length)) === throttledShard)).toBe(true);
    expect(payments().closed).toBe(6 - (left.length - 1));
    throttle = false;
    report = await closeWindows(deps);
    expect(report.incomplete).toBe(false);
    expect(await due('payments')).toEqual(['payments#99']);
  });
});
