/**
 * Sequence rules through ingest on DynamoDB Local, wired as deployed (wireIngest with ALERTS_TABLE):
 * the shipped rule's alert record (the shape verify reads), one record across redelivery and racing
 * invocations, one user's events over two partitions, late events not applied, and a throttled
 * state write resuming the partition with nothing lost.
 */
import { GetItemCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import type { IngestReport } from '../../lib/ingest/ingest-batch.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { wireIngest } from '../../lib/ingest/wire.ts';
import { sequenceAlertId } from '../../lib/sequences/alert.ts';
import { storedAlertOf } from '../../lib/store/dynamodb/alert-store.ts';
import { sequencePk, SEQUENCE_SK, type TableNames } from '../../lib/store/tables.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';

const MIN = 60_000;
const DAY = 86_400_000;
// Recent, so TTL never deletes what the test reads.
const T = Math.floor((Date.now() - 3_600_000) / MIN) * MIN;

let client: DynamoDBClient;
beforeAll(() => {
  client = localClient();
});
afterAll(() => client.destroy());

function container(c: DynamoDBClient, tables: TableNames, delayMs = 600_000) {
  const config = loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput, ALERTS_TABLE: tables.alerts, RULE_CACHE_TTL_MS: '1000', WATERMARK_DELAY_MS: String(delayMs) });
  const reports: IngestReport[] = [];
  const deps = wireIngest(c, config);
  return { deps, reports, ingest: createIngestHandler(deps, (r) => reports.push(r), { reportBatchItemFailures: true }) };
}

const event = (partition: number, offset: number, at: number, action: string, extra: Record<string, unknown> = {}, user = 'u1'): RecordInput => ({
  topic: 'user_events',
  partition,
  offset,
  key: user,
  value: { user_id: user, action, timestamp: at, ...extra },
  timestamp: at,
});

async function sequenceAlerts(tables: TableNames) {
  const items = (await client.send(new ScanCommand({ TableName: tables.alerts, ConsistentRead: true }))).Items ?? [];
  return items.filter((i) => i.sk?.S === 'alert' && i.pipeline?.S === 'sequence').map(storedAlertOf);
}

describe('sequence rules at ingest (DynamoDB)', () => {
  it('record the shipped rule once, in the shape verify reads, whatever the redeliveries and races', async () => {
    const tables = await freshTables(client);
    const a = container(localClient(), tables);
    const b = container(localClient(), tables);
    const records = [
      event(0, 0, T - 5 * DAY, 'login', { device_id: 'old' }),
      event(0, 1, T, 'login', { device_id: 'new' }),
      event(0, 2, T + MIN, 'view'),
      event(0, 3, T + 3 * MIN, 'payment', { amount: 750 }),
      // Near misses: 500 is not above 500, and this one is past 10 minutes.
      event(0, 4, T + 4 * MIN, 'payment', { amount: 500 }),
    ];
    await a.ingest(encodeKafkaEvent(records.slice(0, 2)));
    await Promise.all([a.ingest(encodeKafkaEvent(records.slice(1))), b.ingest(encodeKafkaEvent(records.slice(1)))]);
    await a.ingest(encodeKafkaEvent(records));

    const alerts = await sequenceAlerts(tables);
    expect(alerts).toHaveLength(1);
    const id = sequenceAlertId('new-device-payment', 'u1', 'user_events', 0, 3);
    expect(alerts[0]).toMatchObject({
      id,
      pipeline: 'sequence',
      rule: 'new-device-payment',
      alertType: 'account_takeover',
      level: 'HIGH',
      key: 'u1',
      topic: 'user_events',
      windowStart: T,
      windowEnd: T + 3 * MIN,
      timing: 'early',
      features: {},
      firedBy: { partitionId: 'user_events-0', offset: 3 },
      matched: [
        { step: 'login', partition: 0, offset: 1, eventTime: T },
        { step: 'payment', partition: 0, offset: 3, eventTime: T + 3 * MIN },
      ],
    });
    expect([...a.reports, ...b.reports].reduce((n, r) => n + r.sequenceAlerts, 0)).toBe(1);

    // One state item per user, with a TTL past its last event.
    const item = (await client.send(new GetItemCommand({ TableName: tables.state, Key: { pk: { S: sequencePk({ topic: 'user_events', keyField: 'userId', key: 'u1' }) }, sk: { S: SEQUENCE_SK } }, ConsistentRead: true }))).Item!;
    expect(Number(item.ttl!.N)).toBeGreaterThan((T + 4 * MIN) / 1000);
    expect(JSON.parse(item.body!.S!).marks).toEqual({ '0': [4, T + 4 * MIN] });
  });

  it("match one user's events spread over two partitions, and do not apply events below their partition's watermark", async () => {
    const tables = await freshTables(client);
    const a = container(localClient(), tables, 5 * MIN);
    // Partition 1 carries the logins, partition 2 the payments; the payment arrives first.
    await a.ingest(encodeKafkaEvent([event(2, 0, T + 2 * MIN, 'payment', { amount: 900 })]));
    await a.ingest(encodeKafkaEvent([event(1, 0, T - DAY, 'login', { device_id: 'old' }), event(1, 1, T, 'login', { device_id: 'new' })]));
    // Partition 3: a new-device login 6 minutes behind its partition (late at a 5-minute delay), then a payment.
    await a.ingest(
      encodeKafkaEvent([
        event(3, 0, T - DAY, 'login', { device_id: 'a' }, 'u2'),
        event(3, 1, T + 10 * MIN, 'view', {}, 'u2'),
        event(3, 2, T + 4 * MIN, 'login', { device_id: 'b' }, 'u2'),
        event(3, 3, T + 10 * MIN, 'payment', { amount: 900 }, 'u2'),
      ]),
    );
    const alerts = await sequenceAlerts(tables);
    expect(alerts.map((x) => [x.key, x.matched!.map((m) => `${m.partition}@${m.offset}`)])).toEqual([['u1', ['1@1', '2@0']]]);
    expect(a.reports.reduce((n, r) => n + r.sequenceLate, 0)).toBe(1);
    // The late login is set aside, once, under the pipeline name `sequence`.
    const side = await client.send(new ScanCommand({ TableName: tables.sideOutput, ConsistentRead: true }));
    const late = (side.Items ?? []).filter((i) => i.kind?.S === 'late').map((i) => `${i.partition!.N}@${i.offset!.N}#${i.pipeline?.S}`);
    expect(late).toEqual(['3@2#sequence']);
  });

  it('resume the partition when the state write is throttled, and record the alert on the redelivery', async () => {
    const tables = await freshTables(client);
    const flaky = localClient({ maxAttempts: 1 });
    let throttle = 1;
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { TableName?: string; Item?: { sk?: { S?: string } } };
        if (context.commandName === 'PutItemCommand' && input.TableName === tables.state && input.Item?.sk?.S === SEQUENCE_SK && throttle-- > 0) {
          throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
        }
        return next(args);
      },
      { step: 'initialize', name: 'throttleSequenceState' },
    );
    const a = container(flaky, tables);
    const batch = encodeKafkaEvent([event(0, 0, T - DAY, 'login', { device_id: 'old' }), event(0, 1, T, 'login', { device_id: 'new' }), event(0, 2, T + MIN, 'payment', { amount: 900 })]);
    const first = await a.ingest(batch);
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: { partition: 'user_events-0', offset: 0 } }] });
    // The alert went first, so the throttled state write lost nothing; the redelivery adds no second one.
    expect(await sequenceAlerts(tables)).toHaveLength(1);
    expect(await a.ingest(batch)).toEqual({ batchItemFailures: [] });
    expect(await sequenceAlerts(tables)).toHaveLength(1);
    expect(a.reports.at(-1)!.sequenceWrites).toBe(1);
  });
});
