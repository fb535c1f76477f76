/**
 * Retention against DynamoDB Local, whose TTL sweeper deletes expired items within seconds (as
 * DynamoDB itself does, within days): state written for old event times (a replay, a backfill, a
 * verify log dated last week) must outlive its processing, or windows vanish while still open.
 */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeKafkaEvent } from '../../lib/codec/encode.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { wireIngest } from '../../lib/ingest/wire.ts';
import { windowTtl } from '../../lib/store/retention.ts';
import { windowPk, type TableNames } from '../../lib/store/tables.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';

const DAY = 86_400_000;
const RETENTION_DAYS = 7;

let client: DynamoDBClient;
let tables: TableNames;

beforeAll(async () => {
  client = localClient();
  tables = await freshTables(client);
});
afterAll(() => client.destroy());

describe('window retention', () => {
  it('counts the TTL from the later of the window end and the write', () => {
    const now = Date.parse('2026-12-01T09:00:00Z');
    const retention = RETENTION_DAYS * DAY;
    // A window ending in the future keeps its end-based expiry.
    expect(windowTtl(now + DAY, now, retention)).toBe((now + DAY + retention) / 1000);
    // A window that ended 30 days ago still lives a whole retention after it was written.
    expect(windowTtl(now - 30 * DAY, now, retention)).toBe((now + retention) / 1000);
  });

  it('keeps the windows of events older than the retention until they have been processed and closed', async () => {
    const handler = createIngestHandler(
      wireIngest(
        client,
        loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput, RETENTION_DAYS: String(RETENTION_DAYS) }),
      ),
    );
    const eventTime = Date.now() - 30 * DAY;
    const records = Array.from({ length: 20 }, (_, i) => ({
      topic: 'iot_telemetry',
      partition: 0,
      offset: i,
      key: `sensor-${i % 4}`,
      value: { device_id: `sensor-${i % 4}`, temperature: 20, humidity: 50, timestamp: eventTime + i },
      timestamp: Date.now(),
    }));
    const writtenAt = Date.now();
    expect(await handler(encodeKafkaEvent(records))).toEqual({ batchItemFailures: [] });

    // Long enough for DynamoDB Local's sweeper, which took a third of 50 expired items within 1 s here.
    await new Promise((r) => setTimeout(r, 3_000));
    const windowStart = Math.floor(eventTime / 60_000) * 60_000;
    for (let k = 0; k < 4; k++) {
      const key = { pk: { S: windowPk('iot', `sensor-${k}`) }, sk: { N: String(windowStart) } };
      const item = (await client.send(new GetItemCommand({ TableName: tables.windows, Key: key, ConsistentRead: true }))).Item;
      expect(item, `window of sensor-${k}`).toBeDefined();
      expect(Number(item!.ttl!.N)).toBeGreaterThanOrEqual(Math.floor((writtenAt + RETENTION_DAYS * DAY) / 1000));
    }
  });
});
