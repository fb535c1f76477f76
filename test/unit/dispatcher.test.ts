/**
 * The dispatcher handler with an in-memory sink: it sends alert INSERTs only, in stream order, and
 * answers ReportBatchItemFailures with the first record not delivered, so the mapping resumes
 * there and one refused alert does not hold the rest of its shard.
 */
import type { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent as AwsDynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { AlertRejectedError, type Alert, type AlertSink } from '../../lib/closer/ports.ts';
import { AlertRecordError, createDispatcherHandler, isAlertInsert, type DispatchReport } from '../../lib/dispatcher/dispatch-alerts.ts';
import type { DynamoDBStreamRecord, StreamImage } from '../../lib/dispatcher/stream-event.ts';
import { alertFromItem, DynamoAlertStore, setAsideKey } from '../../lib/store/dynamodb/alert-store.ts';
import { RecordingAlertSink } from '../../lib/store/memory/alert-store.ts';
import sample from '../../events/dynamodb-stream.json' with { type: 'json' };

const alert = (n: number): Alert => ({
  id: `payments-1000-${String(n).padStart(24, '0')}`,
  pipeline: 'payments',
  rule: 'payment-spree',
  alertType: 'payment_spree',
  level: n % 2 ? 'HIGH' : undefined,
  key: `user-${n}`,
  windowStart: 1_000,
  windowEnd: 301_000,
  features: { count: 11 + n, amount: 110 },
  raisedAt: 400_000 + n,
});

/** The item the alert store creates for an alert: captured from its UpdateItem (key and every attribute it sets), never re-spelled here. */
async function itemOf(a: Alert): Promise<StreamImage> {
  let item: StreamImage | undefined;
  const client = {
    send: async (cmd: UpdateItemCommand) => {
      const { Key, ExpressionAttributeNames: names, ExpressionAttributeValues: values } = cmd.input;
      item = { ...Key, ...Object.fromEntries(Object.entries(names!).map(([ph, name]) => [name, values![`:${ph.slice(1)}`]])) } as StreamImage;
      return {};
    },
  } as unknown as DynamoDBClient;
  await new DynamoAlertStore(client, { tableName: 'alerts', retentionMs: 86_400_000 }).putAlert(a);
  return item!;
}

let seq = 0;
function record(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', image: StreamImage): DynamoDBStreamRecord {
  seq++;
  return {
    eventID: `e${seq}`,
    eventName,
    eventSource: 'aws:dynamodb',
    eventVersion: '1.1',
    awsRegion: 'eu-west-1',
    eventSourceARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/alerts/stream/2026-12-01T00:00:00.000',
    dynamodb: { Keys: { pk: image.pk!, sk: image.sk! }, NewImage: image, SequenceNumber: String(seq).padStart(21, '0'), SizeBytes: 200, StreamViewType: 'NEW_IMAGE' },
  };
}
const insert = async (n: number) => record('INSERT', await itemOf(alert(n)));

/** A sink that refuses what `refuse` says, and otherwise keeps what it was sent. */
class FlakySink implements AlertSink {
  readonly sent: Alert[] = [];
  calls = 0;
  constructor(private readonly refuse: (a: Alert) => Error | undefined) {}
  async emit(alerts: Alert[]): Promise<void> {
    this.calls++;
    for (const a of alerts) {
      const err = this.refuse(a);
      if (err) throw err;
    }
    this.sent.push(...alerts);
  }
}

describe('dispatcher', () => {
  it('reads back exactly the alert the store wrote', async () => {
    for (const n of [1, 2]) expect(alertFromItem(await itemOf(alert(n)))).toEqual(alert(n));
  });

  it('sends alert INSERTs only: updates of an alert, results, set-aside records and TTL deletions are skipped', async () => {
    const sink = new RecordingAlertSink();
    const reports: DispatchReport[] = [];
    const handler = createDispatcherHandler({ sink, decode: alertFromItem }, (r) => reports.push(r));
    const a1 = await itemOf(alert(1));
    const aside = setAsideKey({ pipeline: 'payments', key: 'k', windowStart: 1_000 });
    const records = [
      await insert(1),
      // The closer adds the final features to an early alert's record: not a second message.
      record('MODIFY', { ...a1, finalFeatures: { S: '{}' } }),
      record('INSERT', { pk: { S: 'result#risk#u1' }, sk: { S: '0000000000001000' }, level: { S: 'LOW' } }),
      record('INSERT', { pk: { S: aside.pk }, sk: { S: aside.sk }, reason: { S: 'malformed' } }),
      { ...record('REMOVE', a1), userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } },
      await insert(2),
    ];
    expect(records.map(isAlertInsert)).toEqual([true, false, false, false, false, true]);
    expect(await handler({ Records: records })).toEqual({ batchItemFailures: [] });
    expect(sink.emitted).toEqual([alert(1), alert(2)]);
    expect(reports).toEqual([{ records: 6, sent: 2, skipped: 4 }]);
  });

  it('names the first alert the sink refuses, after sending the ones before it', async () => {
    const sink = new FlakySink((a) => (a.key === 'user-3' ? new AlertRejectedError('alert topic refused: MESSAGE_TOO_LARGE') : undefined));
    const handler = createDispatcherHandler({ sink, decode: alertFromItem });
    const records = await Promise.all([1, 2, 3, 4].map(insert));
    const answer = await handler({ Records: records });
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: records[2]!.dynamodb!.SequenceNumber }] });
    // The batch went whole first, then one by one to find the refused alert; 4 is left for the retry.
    expect(sink.sent.map((a) => a.key)).toEqual(['user-1', 'user-2']);
  });

  it('names the first record of a batch the topic cannot take at all (out of reach), so all of it is retried', async () => {
    const sink = new FlakySink(() => Object.assign(new Error('Connection timeout'), { name: 'KafkaJSConnectionError' }));
    const records = await Promise.all([1, 2].map(insert));
    const answer = await createDispatcherHandler({ sink, decode: alertFromItem })({ Records: [record('INSERT', { pk: { S: 'result#x' }, sk: { S: '1' } }), ...records] });
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: records[0]!.dynamodb!.SequenceNumber }] });
    expect(sink.sent).toEqual([]);
  });

  it('names a malformed alert record after sending the alerts before it', async () => {
    const sink = new RecordingAlertSink();
    const good = await insert(1);
    const { raisedAt: _dropped, ...broken } = await itemOf(alert(2));
    const bad = record('INSERT', broken);
    const after = await insert(3);
    const answer = await createDispatcherHandler({ sink, decode: alertFromItem })({ Records: [good, bad, after] });
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: bad.dynamodb!.SequenceNumber }] });
    expect(sink.emitted).toEqual([alert(1)]);
    expect(() => alertFromItem(broken)).toThrow(AlertRecordError);
    expect(() => alertFromItem(broken)).toThrow(/alert record alert#payments-1000-0+2: "raisedAt" must be a number attribute/);
  });

  it('takes the AWS sample event (events/dynamodb-stream.json) as it comes', async () => {
    const sink = new RecordingAlertSink();
    // The handler takes the event as @types/aws-lambda types it (a compile-time check).
    const handler: (event: AwsDynamoDBStreamEvent) => Promise<unknown> = createDispatcherHandler({ sink, decode: alertFromItem });
    expect(await handler(sample as unknown as AwsDynamoDBStreamEvent)).toEqual({ batchItemFailures: [] });
    expect(sink.emitted.map((a) => [a.id, a.key, a.level])).toEqual([['payments-1764583200000-9f2c1e7a4b5d6e8f0a1b2c3d', '7', 'HIGH']]);
  });

  it('fails the whole batch on a record without a sequence number (nothing to resume from)', async () => {
    const r = await insert(1);
    delete r.dynamodb!.SequenceNumber;
    await expect(createDispatcherHandler({ sink: new RecordingAlertSink(), decode: alertFromItem })({ Records: [r] })).rejects.toThrow(/no dynamodb.SequenceNumber/);
  });
});
