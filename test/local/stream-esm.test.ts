/**
 * The DynamoDB stream event source mapping emulator against DynamoDB Local's streams API: events in
 * AWS's shape, per-shard order, ReportBatchItemFailures resume points, bounded retries with the
 * on-failure destination, bisection, and the dispatcher handler fed from the alerts table.
 */
import { DeleteItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Alert } from '../../lib/closer/ports.ts';
import { createDispatcherHandler } from '../../lib/dispatcher/dispatch-alerts.ts';
import type { DynamoDBStreamEvent } from '../../lib/dispatcher/stream-event.ts';
import { alertFromItem, DynamoAlertStore } from '../../lib/store/dynamodb/alert-store.ts';
import { RecordingAlertSink } from '../../lib/store/memory/alert-store.ts';
import { createStreamMapping, type DynamoStreamMapping, type StreamLambdaHandler } from '../../local/esm/dynamodb-stream-mapping.ts';
import type { StreamMappingInput } from '../../local/esm/stream-config.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';

let client: DynamoDBClient;
const running: DynamoStreamMapping[] = [];
beforeAll(() => {
  client = localClient();
});
afterAll(async () => {
  await Promise.all(running.map((m) => m.stop()));
  client.destroy();
});

// Wall-clock based: the store counts retention from it, and an old time would write items TTL deletes at once.
const NOW = Date.now();
const alert = (n: number): Alert => ({
  id: `payments-1000-${String(n).padStart(24, '0')}`,
  pipeline: 'payments',
  rule: 'payment-spree',
  alertType: 'payment_spree',
  level: 'HIGH',
  key: `user-${n}`,
  windowStart: 1_000,
  windowEnd: 301_000,
  features: { count: 11, amount: 110 },
  raisedAt: NOW,
});

async function setup(config: Partial<StreamMappingInput>, handler: StreamLambdaHandler) {
  const tables = await freshTables(client);
  const store = new DynamoAlertStore(client, { tableName: tables.alerts, retentionMs: 86_400_000 });
  const mapping = createStreamMapping({
    config: {
      tableName: tables.alerts,
      endpoint: inject('dynamoEndpoint'),
      startingPosition: 'TRIM_HORIZON',
      ...config,
      local: { pollIntervalMs: 50, retryBackoffBaseMs: 10, retryBackoffMaxMs: 50, ...config.local },
    },
    handler,
  });
  running.push(mapping);
  await mapping.start();
  return { tables, store, mapping };
}

/** Every event the handler got; `behaviour` decides each answer. */
function recorder(behaviour: (event: DynamoDBStreamEvent, call: number) => unknown = () => undefined) {
  const events: DynamoDBStreamEvent[] = [];
  const handler: StreamLambdaHandler = async (event) => {
    events.push(structuredClone(event));
    return behaviour(event, events.length);
  };
  const pks = () => events.flatMap((e) => e.Records.map((r) => r.dynamodb?.Keys?.pk?.S));
  return { events, handler, pks };
}

describe('DynamoDB stream mapping emulator', () => {
  it('DynamoDB Local serves the stream, and the handler gets each change in order, in AWS event shape', async () => {
    const rec = recorder();
    const { tables, store, mapping } = await setup({ batchSize: 10 }, rec.handler);
    for (const n of [1, 2, 3]) await store.putAlert(alert(n));
    await client.send(new UpdateItemCommand({ TableName: tables.alerts, Key: { pk: { S: `alert#${alert(1).id}` }, sk: { S: 'alert' } }, UpdateExpression: 'SET finalFeatures = :f', ExpressionAttributeValues: { ':f': { S: '{}' } } }));
    await client.send(new DeleteItemCommand({ TableName: tables.alerts, Key: { pk: { S: `alert#${alert(2).id}` }, sk: { S: 'alert' } } }));
    await mapping.caughtUp();
    const records = rec.events.flatMap((e) => e.Records);
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'INSERT', 'INSERT', 'MODIFY', 'REMOVE']);
    const first = records[0]!;
    expect(first).toMatchObject({ eventSource: 'aws:dynamodb', eventVersion: '1.1', eventSourceARN: expect.stringMatching(/:table\/.+\/stream\//) });
    expect(first.dynamodb).toMatchObject({ StreamViewType: 'NEW_IMAGE', Keys: { pk: { S: `alert#${alert(1).id}` }, sk: { S: 'alert' } }, SequenceNumber: expect.any(String) });
    // Lambda gives the creation time in epoch seconds.
    expect(first.dynamodb!.ApproximateCreationDateTime).toBeGreaterThan(1.7e9);
    expect(first.dynamodb!.ApproximateCreationDateTime).toBeLessThan(1e10);
    expect(alertFromItem(first.dynamodb!.NewImage!)).toEqual(alert(1));
    const seqs = records.map((r) => BigInt(r.dynamodb!.SequenceNumber!));
    expect([...seqs].sort((a, b) => (a < b ? -1 : 1))).toEqual(seqs);
    expect(mapping.stats()).toMatchObject({ failedInvocations: 0, recordsSucceeded: 5 });
  });

  it('resumes from the sequence number a partial batch response names, never redelivering what came before it', async () => {
    let failed = false;
    const rec = recorder((event) => {
      const third = event.Records[2];
      if (failed || !third) return { batchItemFailures: [] };
      failed = true;
      return { batchItemFailures: [{ itemIdentifier: third.dynamodb!.SequenceNumber }] };
    });
    const { store, mapping } = await setup({ batchSize: 10, reportBatchItemFailures: true, maxBatchingWindow: 0.5 }, rec.handler);
    for (const n of [1, 2, 3, 4, 5]) await store.putAlert(alert(n));
    await mapping.caughtUp();
    const pk = (n: number) => `alert#${alert(n).id}`;
    expect(rec.pks()).toEqual([1, 2, 3, 4, 5, 3, 4, 5].map(pk));
    expect(mapping.stats()).toMatchObject({ retries: 1, recordsSucceeded: 5, recordsSentToOnFailure: 0 });
  });

  it('gives up on a record after its retries (bisecting to it), hands the batch to the on-failure destination, and goes on with the shard', async () => {
    const poison = `alert#${alert(3).id}`;
    const rec = recorder((event) => {
      if (event.Records.some((r) => r.dynamodb?.Keys?.pk?.S === poison)) throw new Error('the topic refuses it');
    });
    const failures: unknown[] = [];
    const tables = await freshTables(client);
    const store = new DynamoAlertStore(client, { tableName: tables.alerts, retentionMs: 86_400_000 });
    for (const n of [1, 2, 3, 4, 5, 6]) await store.putAlert(alert(n));
    const mapping = createStreamMapping({
      config: { tableName: tables.alerts, endpoint: inject('dynamoEndpoint'), startingPosition: 'TRIM_HORIZON', batchSize: 6, retryAttempts: 2, bisectBatchOnError: true, local: { pollIntervalMs: 50, retryBackoffBaseMs: 5, retryBackoffMaxMs: 20 } },
      handler: rec.handler,
      onFailure: (f) => void failures.push(f),
    });
    running.push(mapping);
    await mapping.start();
    await mapping.caughtUp();
    expect(mapping.failures).toHaveLength(1);
    expect(failures).toEqual(mapping.failures);
    expect(mapping.failures[0]).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
      responseContext: { functionError: 'Error: the topic refuses it' },
      DDBStreamBatchInfo: { batchSize: 1, streamArn: expect.stringContaining(tables.alerts) },
    });
    const info = mapping.failures[0]!.DDBStreamBatchInfo;
    expect(info.startSequenceNumber).toBe(info.endSequenceNumber);
    // Everything else reached the handler in a batch that succeeded.
    const succeeded = rec.events.filter((e) => !e.Records.some((r) => r.dynamodb?.Keys?.pk?.S === poison)).flatMap((e) => e.Records.map((r) => r.dynamodb!.Keys!.pk!.S));
    expect(new Set(succeeded)).toEqual(new Set([1, 2, 4, 5, 6].map((n) => `alert#${alert(n).id}`)));
    expect(mapping.stats()).toMatchObject({ recordsSucceeded: 5, recordsSentToOnFailure: 1, batchesSentToOnFailure: 1 });
  });

  it('drives the dispatcher handler from the alerts table: each alert record sent once, set-aside records and updates skipped', async () => {
    const sink = new RecordingAlertSink();
    const handler = createDispatcherHandler({ sink, decode: alertFromItem });
    const { tables, store, mapping } = await setup({ batchSize: 100, reportBatchItemFailures: true, bisectBatchOnError: true, retryAttempts: 10 }, handler);
    const alerts = Array.from({ length: 40 }, (_, i) => alert(i));
    for (const a of alerts) {
      expect(await store.putAlert(a)).toBe(true);
      // A racing closer's put of the same alert changes nothing, so the stream has no second record.
      expect(await store.putAlert(a)).toBe(false);
    }
    await store.putSetAside({ pipeline: 'risk', key: 'u1', windowStart: 0, windowEnd: 3_600_000, reason: 'too large', at: Date.now() });
    await client.send(new UpdateItemCommand({ TableName: tables.alerts, Key: { pk: { S: `alert#${alerts[0]!.id}` }, sk: { S: 'alert' } }, UpdateExpression: 'SET finalFeatures = :f', ExpressionAttributeValues: { ':f': { S: '{}' } } }));
    await mapping.caughtUp();
    expect(sink.emitted.map((a) => a.id)).toEqual(alerts.map((a) => a.id));
    expect(sink.emitted[5]).toEqual(alerts[5]);
  });
});
