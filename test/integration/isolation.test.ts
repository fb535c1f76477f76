/**
 * No input can fail a batch: a record that trips an error nobody foresaw is isolated and
 * quarantined with that error, and the rest of its batch is applied exactly once. Otherwise the
 * batch would fail on every retry and, after AWS's 10 retries with an on-failure destination, all of
 * its records would go there. Errors that are not the input's fault still fail the batch.
 */
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import type { IngestDeps } from '../../lib/ingest/ingest-batch.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { wireIngest } from '../../lib/ingest/wire.ts';
import type { TableNames } from '../../lib/store/tables.ts';
import { directComputation } from '../support/direct.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';
import { mixedRecords } from '../support/records.ts';
import { normalise, storedFeatures } from '../support/stored.ts';

const clients: DynamoDBClient[] = [];
afterAll(() => clients.forEach((c) => c.destroy()));

async function setup(tableOverrides: Partial<TableNames> = {}) {
  const client = localClient();
  clients.push(client);
  const tables = { ...(await freshTables(client)), ...tableOverrides };
  // Fixture event times are in November 2026: a long retention keeps their items' TTL in the future.
  const config = loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput, WATERMARK_DELAY_MS: '3600000', RETENTION_DAYS: '3650' });
  return { client, tables, deps: wireIngest(client, config) };
}

async function quarantined(client: DynamoDBClient, tables: TableNames) {
  const items = (await client.send(new ScanCommand({ TableName: tables.sideOutput }))).Items ?? [];
  return items.filter((i) => i.kind!.S === 'quarantine').map((i) => ({ at: `${i.topic!.S}-${i.partition!.N}@${i.offset!.N}`, reason: i.reason!.S! }));
}

const at = (r: RecordInput) => `${r.topic}-${r.partition}@${r.offset}`;
const expectedOf = (records: RecordInput[]) =>
  normalise(directComputation(records.map((r) => ({ topic: r.topic, partition: r.partition, value: r.value as Record<string, unknown> })), { delayMs: 3_600_000 }));

describe('a record that fails its batch on its own', () => {
  it('an unforeseen error on one key: its records are quarantined with the error, the rest applied exactly once', async () => {
    const { client, tables, deps } = await setup();
    const records = mixedRecords(300, 21).filter((r) => r.topic === 'user_events');
    const victim = String((records[7]!.value as { user_id: unknown }).user_id);
    const ofVictim = (r: RecordInput) => String((r.value as { user_id: unknown }).user_id) === victim;
    const windows: IngestDeps['windows'] = {
      write: (w) => (w.key === victim ? Promise.reject(new RangeError(`unforeseen failure for ${w.key}`)) : deps.windows.write(w)),
    };
    const handler = createIngestHandler({ ...deps, windows }, undefined, { reportBatchItemFailures: false });

    const event = encodeKafkaEvent(records);
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    const q = await quarantined(client, tables);
    expect(q.map((x) => x.at).sort()).toEqual(records.filter(ofVictim).map(at).sort());
    for (const x of q) expect(x.reason).toBe(`ingest failed on this record alone: RangeError: unforeseen failure for ${victim}`);
    expect(normalise(await storedFeatures(client, tables.windows))).toEqual(expectedOf(records.filter((r) => !ofVictim(r))));

    // A redelivery takes the same path and changes nothing.
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(normalise(await storedFeatures(client, tables.windows))).toEqual(expectedOf(records.filter((r) => !ofVictim(r))));
  });

  it('an event time DynamoDB cannot store (1e300) never fails the batch: that record is quarantined, the rest applied', async () => {
    const { client, tables, deps } = await setup();
    const records = mixedRecords(200, 22).filter((r) => r.topic === 'user_events');
    const poison = { ...records[5]!, value: { ...(records[5]!.value as object), event_time: 1e300, timestamp: undefined } };
    const batch = records.map((r, i) => (i === 5 ? poison : r));
    const handler = createIngestHandler(deps, undefined, { reportBatchItemFailures: false });
    expect(await handler(encodeKafkaEvent(batch))).toEqual({ batchItemFailures: [] });
    expect((await quarantined(client, tables)).map((x) => x.at)).toEqual([at(poison)]);
    expect(normalise(await storedFeatures(client, tables.windows))).toEqual(expectedOf(records.filter((_, i) => i !== 5)));
  });

  it('errors that are not the input\'s fault still fail the batch: every record failing alone, or a deployment error', async () => {
    const { client, tables, deps } = await setup();
    const records = mixedRecords(60, 23).filter((r) => r.topic === 'user_events');
    const broken: IngestDeps['windows'] = { write: () => Promise.reject(new TypeError('a bug that fails every write')) };
    await expect(createIngestHandler({ ...deps, windows: broken })(encodeKafkaEvent(records))).rejects.toThrow('a bug that fails every write');

    const missing = await setup({ windows: `no-such-table-${Date.now()}` });
    await expect(createIngestHandler(missing.deps)(encodeKafkaEvent(records))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    // Nothing was set aside: the batch comes again whole.
    expect(await quarantined(client, tables)).toEqual([]);
  });
});
