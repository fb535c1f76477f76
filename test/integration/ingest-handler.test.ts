/**
 * The Lambda entry point itself (middy, Powertools) on AWS-shaped events from events/, against
 * DynamoDB Local: what a deployed function does with each sample, bad records included.
 */
import { readFileSync } from 'node:fs';
import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeKafkaEvent } from '../../lib/codec/encode.ts';
import type { KafkaEvent } from '../../lib/codec/kafka-event.ts';
import type { TableNames } from '../../lib/store/tables.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';
import { ingestContext, loadIngestFunction, type IngestFunction } from '../support/ingest-function.ts';
import { storedFeatures } from '../support/stored.ts';
import { registrationsPerIp } from '../../lib/pipelines/builtin.ts';
import { scanWindows } from '../../lib/store/dynamodb/scan-windows.ts';
import { featuresOf } from '../../lib/windows/features-of.ts';
import { windowsOfStored } from '../../lib/windows/merge-buckets.ts';

const sample = (name: string) => JSON.parse(readFileSync(new URL(`../../events/${name}.json`, import.meta.url), 'utf8')) as KafkaEvent;
const context = ingestContext;

let client: DynamoDBClient;
let tables: TableNames;
let handler: IngestFunction;

beforeAll(async () => {
  client = localClient();
  tables = await freshTables(client);
  handler = await loadIngestFunction(tables);
});
afterAll(() => client.destroy());

async function sideOutputs(kind: string, partitionId: string) {
  const out = await client.send(
    new QueryCommand({ TableName: tables.sideOutput, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: `${kind}#${partitionId}` } } }),
  );
  return (out.Items ?? []).map((i) => ({ offset: Number(i.offset!.N), reason: i.reason!.S!, field: i.field?.S, size: Number(i.size!.N) }));
}

describe('functions/ingest handler', () => {
  it('applies every sample event in the exact AWS shape (MSK and self-managed, with and without keys and headers)', async () => {
    for (const name of ['payments', 'risk', 'registrations', 'iot']) {
      expect(await handler(sample(name), context)).toEqual({ batchItemFailures: [] });
    }
    const stored = await storedFeatures(client, tables.windows);
    const T = Date.parse('2026-11-23T10:00:00Z');
    // Exactly 355.96: sums are kept in whole millionths (lib/pipelines/exact.ts), not as a double sum.
    expect(stored.get(`payments|1001|${T}`)).toEqual({ count: 12, amount: 355.96 });
    expect(stored.get(`payments|1002|${T}`)).toEqual({ count: 2, amount: 314.9 });
    expect(stored.get(`risk|2002|${T}`)).toMatchObject({ events: 4, devices: ['android-7', 'iphone-1'], cities: ['Berlin', 'Lagos'], logins: 2 });
    expect(stored.get(`risk|2003|${T}`)).toMatchObject({ events: 7, logins: 7, devices: ['laptop-3'] });
    // Registrations are stored as one-minute buckets; the 10-minute window from T merges them.
    const registrationWindows = windowsOfStored(registrationsPerIp, (await scanWindows(client, tables.windows)).filter((w) => w.pipeline === 'registrations'));
    const fromT = registrationWindows.find((w) => w.key === '203.0.113.7' && w.windowStart === T)!;
    expect(featuresOf(registrationsPerIp, fromT.slots)).toMatchObject({ registrations: 22 });
    expect(stored.get(`iot|sensor-9|${T}`)).toEqual({
      count: 1, rejected: 5, temperatureMin: 24, temperatureMax: 24, temperatureAvg: 24, humidityMin: 50, humidityMax: 50, humidityAvg: 50,
    });
    expect(stored.get(`iot|sensor-1|${T}`)).toMatchObject({ count: 3, rejected: 0, temperatureMin: 21.5, temperatureMax: 22.4 });
  });

  it('quarantines poison records (bad JSON, wrong types, a 2 MB value) with coordinates and applies the rest of the batch', async () => {
    const T = Date.parse('2026-11-23T12:00:00Z');
    const good = (offset: number, amount: number) => ({ topic: 'user_events', partition: 9, offset, key: '5001', value: { user_id: 5001, action: 'payment', amount, timestamp: T + offset } });
    const event = encodeKafkaEvent([
      good(40, 1),
      { topic: 'user_events', partition: 9, offset: 41, key: '5001', value: '{not json' },
      { topic: 'user_events', partition: 9, offset: 42, key: '5001', value: { user_id: true, action: 7, timestamp: T } },
      { topic: 'user_events', partition: 9, offset: 43, key: '5001', value: Buffer.alloc(2 * 1024 * 1024, 'a') },
      good(44, 2),
      good(45, 4),
    ]);
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });

    const stored = await storedFeatures(client, tables.windows);
    expect(stored.get(`payments|5001|${T}`)).toEqual({ count: 3, amount: 7 });
    const q = await sideOutputs('quarantine', 'user_events-9');
    expect(q).toEqual([
      { offset: 41, field: 'value', reason: expect.stringMatching(/^invalid JSON/), size: 9 },
      { offset: 42, field: 'user_id', reason: 'field "user_id": expected a string or a non-negative integer (+1 more)', size: expect.any(Number) },
      { offset: 43, field: 'value', reason: 'value is 2097152 bytes, over the 65536-byte limit', size: 2097152 },
    ]);
    // Redelivering the batch changes nothing: not the counters, not the quarantine.
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
    expect((await storedFeatures(client, tables.windows)).get(`payments|5001|${T}`)).toEqual({ count: 3, amount: 7 });
    expect(await sideOutputs('quarantine', 'user_events-9')).toHaveLength(3);
  });

  it('rejects an event that is not a Kafka event with a clear error', async () => {
    await expect(handler({ Records: [] } as unknown as KafkaEvent, context)).rejects.toThrow(/expects a Lambda Kafka event/);
  });
});
