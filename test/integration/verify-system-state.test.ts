/**
 * readSystemState against DynamoDB Local: records pushed through the real ingest path (one bad,
 * one late), a closed window, an alert and a risk result, read back as the verifier sees them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutItemCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import { alertId } from '../../lib/closer/alert-id.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { wireIngest } from '../../lib/ingest/wire.ts';
import { DynamoAlertStore } from '../../lib/store/dynamodb/alert-store.ts';
import { DynamoCloserStore } from '../../lib/store/dynamodb/closer-store.ts';
import type { TableNames } from '../../lib/store/tables.ts';
import { readSystemState } from '../../local/verify/system-state.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';

const T = Date.parse('2026-11-23T12:00:00Z');
const MIN = 60_000;
const DELAY_MS = 10 * MIN;

let client: DynamoDBClient;
let tables: TableNames;
beforeAll(async () => {
  client = localClient();
  tables = await freshTables(client);
});
afterAll(() => client.destroy());

const event = (partition: number, offset: number, value: unknown): RecordInput => ({ topic: 'user_events', partition, offset, key: null, value });

describe('readSystemState', () => {
  it('reads windows with features, alert records only, quarantined and late coordinates', async () => {
    const config = loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput, WATERMARK_DELAY_MS: String(DELAY_MS) });
    const handler = createIngestHandler(wireIngest(client, config));
    const records = [
      event(0, 0, { user_id: 7, action: 'payment', amount: 10.5, device_id: 'phone', city: 'Lagos', timestamp: T + 30 * MIN }),
      event(0, 1, '{not json'),
      // 30 minutes older than offset 0: its 5-minute payments window ended before the partition's
      // watermark (T+30min - 10min), so it is late for payments, but its risk hour is still open.
      event(0, 2, { user_id: 7, action: 'payment', amount: 99, device_id: 'laptop', city: 'Berlin', timestamp: T }),
      event(0, 3, { user_id: 7, action: 'payment', amount: 2, device_id: 'phone', city: 'Lagos', timestamp: T + 31 * MIN }),
      event(1, 0, { user_id: 8, action: 'login', device_id: 'tablet', city: 'Oslo', timestamp: T + 5 * MIN }),
    ];
    expect(await handler(encodeKafkaEvent(records))).toEqual({ batchItemFailures: [] });

    await new DynamoCloserStore(client, { windowsTable: tables.windows, stateTable: tables.state }).close(
      { pipeline: 'risk', key: '8', windowStart: T, windowEnd: T + 60 * MIN },
      T + 2 * 60 * MIN,
    );
    const alerts = new DynamoAlertStore(client, { tableName: tables.alerts, retentionMs: 86_400_000 });
    const id = alertId('payments', '7', T + 30 * MIN, 'payments-spree');
    const window = { pipeline: 'payments', key: '7', windowStart: T + 30 * MIN, windowEnd: T + 35 * MIN, features: { count: 2, amount: 12.5 } };
    await alerts.putAlert({ ...window, id, rule: 'payments-spree', alertType: 'payment_spree', level: undefined, raisedAt: T + 40 * MIN });
    // A set-aside record shares the alerts table and must not be read as an alert.
    await alerts.putSetAside({ pipeline: 'payments', key: '9', windowStart: T, windowEnd: T + 5 * MIN, reason: 'too large', at: T + 40 * MIN });

    // A sequence alert in the shape SEQ-SEMANTICS fixes (issue 15), written raw: the engine that
    // writes it lives on another branch. It is read apart from the window alerts, with its chain.
    const matched = [{ step: 'login', partition: 1, offset: 0, eventTime: T + 5 * MIN }, { step: 'payment', partition: 0, offset: 3, eventTime: T + 31 * MIN }];
    await client.send(
      new PutItemCommand({
        TableName: tables.alerts,
        Item: {
          pk: { S: 'alert#seq-0123456789abcdef01234567' }, sk: { S: 'alert' }, id: { S: 'seq-0123456789abcdef01234567' },
          pipeline: { S: 'sequence' }, rule: { S: 'new-device-payment' }, alertType: { S: 'account_takeover' }, level: { S: 'HIGH' },
          windowKey: { S: '7' }, windowStart: { N: String(T + 5 * MIN) }, windowEnd: { N: String(T + 31 * MIN) },
          features: { S: '{}' }, raisedAt: { N: String(T + 40 * MIN) }, timing: { S: 'early' }, firedAt: { N: String(T + 40 * MIN) },
          matched: { S: JSON.stringify(matched) },
        },
      }),
    );

    const state = await readSystemState(client, tables);
    expect(state.sequenceAlerts).toEqual([
      { id: 'seq-0123456789abcdef01234567', ruleId: 'new-device-payment', key: '7', level: 'HIGH', alertType: 'account_takeover', windowStart: T + 5 * MIN, windowEnd: T + 31 * MIN, timing: 'early', matched },
    ]);

    const byId = new Map(state.windows.map((w) => [`${w.pipeline}|${w.key}|${w.windowStart}`, w]));
    expect(byId.size).toBe(3);
    expect(byId.get(`payments|7|${T + 30 * MIN}`)).toEqual({ ...window, closed: false });
    expect(byId.get(`risk|7|${T}`)).toEqual({
      pipeline: 'risk', key: '7', windowStart: T, windowEnd: T + 60 * MIN, closed: false,
      features: { events: 3, devices: ['laptop', 'phone'], cities: ['Berlin', 'Lagos'], logins: 0 },
    });
    expect(byId.get(`risk|8|${T}`)).toMatchObject({ closed: true, features: { events: 1, devices: ['tablet'], cities: ['Oslo'], logins: 1 } });

    expect(state.alerts).toEqual([
      {
        id,
        pipeline: 'payments',
        key: '7',
        windowStart: T + 30 * MIN,
        windowEnd: T + 35 * MIN,
        ruleId: 'payments-spree',
        level: null,
        alertType: 'payment_spree',
        // Raised at close: its features are the final ones, and the record says so.
        timing: 'close',
        features: { count: 2, amount: 12.5 },
        finalFeatures: { count: 2, amount: 12.5 },
      },
    ]);
    expect(state.quarantined).toEqual([{ topic: 'user_events', partition: 0, offset: 1 }]);
    expect(state.late).toEqual([{ topic: 'user_events', partition: 0, offset: 2, pipeline: 'payments' }]);
  });

  it('reads past the first page of a scan', async () => {
    const own = await freshTables(client);
    const config = loadIngestConfig({ WINDOWS_TABLE: own.windows, STATE_TABLE: own.state, SIDE_OUTPUT_TABLE: own.sideOutput });
    const handler = createIngestHandler(wireIngest(client, config));
    // 1,500 bad records keeping ~1 KB samples: over the 1 MB a scan page reads, whatever it returns.
    const bad = Array.from({ length: 1500 }, (_, i): RecordInput => ({ topic: 'iot_telemetry', partition: i % 3, offset: i, key: null, value: `{${'x'.repeat(1000)}` }));
    for (let i = 0; i < bad.length; i += 500) expect(await handler(encodeKafkaEvent(bad.slice(i, i + 500)))).toEqual({ batchItemFailures: [] });
    const firstPage = await client.send(new ScanCommand({ TableName: own.sideOutput }));
    expect(firstPage.LastEvaluatedKey).toBeDefined();

    const state = await readSystemState(client, own);
    expect(state.quarantined).toHaveLength(1500);
    expect(new Set(state.quarantined.map((q) => `${q.partition}@${q.offset}`)).size).toBe(1500);
  });
});
