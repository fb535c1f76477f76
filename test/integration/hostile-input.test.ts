/**
 * Hostile traffic through the real Lambda entry point (functions/ingest.ts: middy, Powertools, the
 * configuration from env) against DynamoDB Local, one test per numbered item of issue 11 that ingest
 * owns: future-dated times (2), numbers DynamoDB cannot store (3), envelopes it cannot parse (7),
 * look-alike keys (8). Each time: nothing throws, no partition is blocked, the bad record alone is
 * quarantined with its reason, and the rest is applied.
 */
import { GetItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeKafkaEvent, encodeRecord, type RecordInput } from '../../lib/codec/encode.ts';
import type { KafkaEvent } from '../../lib/codec/kafka-event.ts';
import { WATERMARK_PK_PREFIX } from '../../lib/store/dynamodb/watermark-store.ts';
import type { TableNames } from '../../lib/store/tables.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';
import { ingestContext, loadIngestFunction, type IngestFunction } from '../support/ingest-function.ts';
import { storedFeatures } from '../support/stored.ts';

const context = ingestContext;

const T = Date.parse('2026-11-23T10:00:00Z');
const MIN = 60_000;

let client: DynamoDBClient;
let tables: TableNames;
let handler: IngestFunction;

beforeAll(async () => {
  client = localClient();
  tables = await freshTables(client);
  delete process.env.MAX_EVENT_AHEAD_MS; // the default, 5 minutes, as deployed
  handler = await loadIngestFunction(tables);
});
afterAll(() => client.destroy());

async function quarantined(partitionId: string) {
  const out = await client.send(
    new QueryCommand({ TableName: tables.sideOutput, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: `quarantine#${partitionId}` } } }),
  );
  return (out.Items ?? []).map((i) => ({ offset: Number(i.offset!.N), reason: i.reason!.S! }));
}

async function partitionMaxEventTime(topic: string, partition: number): Promise<number | undefined> {
  const out = await client.send(new GetItemCommand({ TableName: tables.state, Key: { pk: { S: WATERMARK_PK_PREFIX + topic }, sk: { S: String(partition) } }, ConsistentRead: true }));
  return out.Item?.maxEventTime?.N === undefined ? undefined : Number(out.Item.maxEventTime.N);
}

/** A payment on `partition`, produced at Kafka time `timestamp` (default: its event time). */
const pay = (partition: number, offset: number, fields: Record<string, unknown> = {}, timestamp = T + offset * 1000): RecordInput => ({
  topic: 'user_events',
  partition,
  offset,
  timestamp,
  value: { user_id: 7000 + partition, action: 'payment', amount: 1, timestamp: T + offset * 1000, ...fields },
});

describe('hostile traffic through the ingest handler', () => {
  it('item 2: a future-dated event is quarantined naming both times, and poisons neither the partition nor its watermark', async () => {
    const P = 1;
    const first = encodeKafkaEvent([pay(P, 0), pay(P, 1, { timestamp: '2100-01-01T00:00:00Z' }), pay(P, 2, { timestamp: T + 30 * 24 * 60 * MIN }), pay(P, 3, { timestamp: Number.MAX_SAFE_INTEGER })]);
    expect(await handler(first, context)).toEqual({ batchItemFailures: [] });
    // Later normal records, in a batch of their own: on time, not late.
    const later = encodeKafkaEvent(Array.from({ length: 5 }, (_, i) => pay(P, 4 + i)));
    expect(await handler(later, context)).toEqual({ batchItemFailures: [] });

    const q = await quarantined(`user_events-${P}`);
    expect(q.map((r) => r.offset)).toEqual([1, 2, 3]);
    expect(q[0]!.reason).toMatch(/^event time 2100-01-01T00:00:00.000Z is 73.1 years ahead of the record's Kafka timestamp 2026-11-23T10:00:01.000Z, more than the 300000 ms allowed/);
    expect(q[1]!.reason).toMatch(/is 30.0 days ahead/);
    expect(q[2]!.reason).toMatch(/after 9999-12-31T23:59:59.999Z/);
    expect(await partitionMaxEventTime('user_events', P)).toBe(T + 8000);
    const stored = await storedFeatures(client, tables.windows);
    expect(stored.get(`payments|${7000 + P}|${T}`)).toEqual({ count: 6, amount: 6 });
  });

  it('item 3: numbers DynamoDB cannot store quarantine their record only, and sums do not depend on batch cuts', async () => {
    const P = 2;
    const event = encodeKafkaEvent([pay(P, 0, { amount: 0.1 }), pay(P, 1, { event_time: 1e300, timestamp: undefined }), pay(P, 2, { amount: 1e-200 }), pay(P, 3, { amount: 0.2 }), pay(P, 4, { amount: 1e300 })]);
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
    // Redelivery changes nothing and does not throw (1e300 as an event time once failed every delivery).
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
    const q = await quarantined(`user_events-${P}`);
    expect(q.map((r) => [r.offset, r.reason])).toEqual([
      [1, expect.stringMatching(/^field "event_time": timestamp 1e\+300 is after 9999-12-31/)],
      [2, 'field "amount": 1e-200 is not 0 but rounds to 0 at the 6 decimal places kept (underflow)'],
      [4, 'field "amount": must be a finite number within ±1000000000000000'],
    ]);

    // The same amounts cut into two batches, on another partition: the same total, exactly 0.3.
    const Q = 3;
    const at = (offset: number, amount: number): RecordInput => ({ topic: 'user_events', partition: Q, offset, timestamp: T + 10 * MIN, value: { user_id: 7000 + P, action: 'payment', amount, timestamp: T + 10 * MIN } });
    const one = encodeKafkaEvent([at(0, 0.1)]);
    const two = encodeKafkaEvent([at(1, 0.2)]);
    expect(await handler(one, context)).toEqual({ batchItemFailures: [] });
    expect(await handler(two, context)).toEqual({ batchItemFailures: [] });
    const stored = await storedFeatures(client, tables.windows);
    expect(stored.get(`payments|${7000 + P}|${T}`)).toEqual({ count: 2, amount: 0.3 });
    expect(stored.get(`payments|${7000 + P}|${T + 10 * MIN}`)).toEqual({ count: 2, amount: 0.3 });
  });

  it('item 7: envelopes it cannot parse are quarantined with the coordinates they have, the rest applied', async () => {
    const P = 4;
    const good = (offset: number) => encodeRecord(pay(P, offset));
    const bom = encodeRecord({ ...pay(P, 5), value: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(pay(P, 5).value))]) });
    const badUtf8 = encodeRecord({ ...pay(P, 6), value: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]) });
    const event = {
      eventSource: 'aws:kafka',
      records: {
        [`user_events-${P}`]: [good(0), { ...good(1), value: 42 }, { ...good(2), offset: 'two' }, { ...good(3), value: good(3).value!.replace(/.$/, '*') }, bom, badUtf8],
        // The same partition under a second key: merged, not a second read of its marks.
        'user_events-x': [good(4), { ...good(7), partition: null }],
      },
    } as unknown as KafkaEvent;
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
    const q = await quarantined(`user_events-${P}`);
    expect(q.map((r) => [r.offset, r.reason])).toEqual([
      [-3, `record 2 of "user_events-${P}": offset is "two", not a non-negative integer`],
      [1, 'value is 42, not base64 text'],
      [3, 'value is not valid base64 (padded, standard alphabet)'],
      [6, 'value is not valid UTF-8'],
    ]);
    // A partition that is not a number, under a key that names none either.
    expect(await quarantined('user_events--1')).toEqual([{ offset: 7, reason: 'record 1 of "user_events-x": partition is null, not a non-negative integer' }]);
    const stored = await storedFeatures(client, tables.windows);
    expect(stored.get(`payments|${7000 + P}|${T}`)).toEqual({ count: 3, amount: 3 });
    // Only an event with no records at all is an error.
    await expect(handler({ eventSource: 'aws:kafka', records: {} }, context)).rejects.toThrow(/no records/);
  });

  it('item 8: look-alike keys are one identity or refused, never two users', async () => {
    const P = 5;
    const login = (offset: number, user_id: string, extra: Record<string, unknown> = {}): RecordInput => ({
      topic: 'user_events',
      partition: P,
      offset,
      timestamp: T,
      value: { user_id, action: 'login', timestamp: T, ...extra },
    });
    const event = encodeKafkaEvent([
      login(0, 'jos\u00e9', { device_id: 'caf\u00e9', location_city: 'S\u00e3o Paulo' }),
      login(1, 'jose\u0301', { device_id: 'cafe\u0301', location_city: 'Sa\u0303o Paulo' }),
      login(2, 'admin'),
      login(3, 'admin\u200b'),
      login(4, 'admin\u0007'),
      login(5, '\u202eadmin'),
    ]);
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
    const stored = await storedFeatures(client, tables.windows);
    expect(stored.get(`risk|jos\u00e9|${T}`)).toMatchObject({ events: 2, logins: 2, devices: ['caf\u00e9'], cities: ['S\u00e3o Paulo'] });
    expect(stored.get(`risk|jose\u0301|${T}`)).toBeUndefined();
    expect(stored.get(`risk|admin|${T}`)).toMatchObject({ events: 1 });
    expect([...stored.keys()].filter((k) => k.startsWith('risk|') && k.includes('admin'))).toEqual([`risk|admin|${T}`]);
    const q = await quarantined(`user_events-${P}`);
    expect(q.map((r) => [r.offset, r.reason])).toEqual([
      [3, 'field "user_id": contains an invisible format character U+200B at position 5; look-alike keys are refused, not merged'],
      [4, 'field "user_id": contains a control character U+0007 at position 5; look-alike keys are refused, not merged'],
      [5, 'field "user_id": contains an invisible format character U+202E at position 0; look-alike keys are refused, not merged'],
    ]);
  });
});
