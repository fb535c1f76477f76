/**
 * Early alerts on DynamoDB Local, wired as deployed (wireIngest with ALERTS_TABLE): the window write
 * answers with ALL_NEW, the alert is a conditional put on the closer's id, two invocations racing
 * on one batch make one record, and the closer completes that record with the final features.
 */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertId } from '../../lib/closer/alert-id.ts';
import { closeWindows } from '../../lib/closer/close-windows.ts';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import type { IngestReport } from '../../lib/ingest/ingest-batch.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { wireIngest } from '../../lib/ingest/wire.ts';
import { payments } from '../../lib/pipelines/builtin.ts';
import { wireRules } from '../../lib/rules/wire.ts';
import { DynamoAlertStore, storedAlertOf } from '../../lib/store/dynamodb/alert-store.ts';
import { DynamoCloserStore } from '../../lib/store/dynamodb/closer-store.ts';
import type { TableNames } from '../../lib/store/tables.ts';
import { isDuePagePk } from '../../lib/store/tables.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';

const FIVE_MIN = 300_000;
// Recent, so TTL never deletes what the test reads; aligned to a payments window.
const WINDOW = Math.floor((Date.now() - 3_600_000) / FIVE_MIN) * FIVE_MIN;

interface Sent {
  command: string;
  input: Record<string, unknown>;
  error?: string;
}

/** A client of its own per "container", recording every command it sends and how it ended. */
function recordingClient(sent: Sent[]): DynamoDBClient {
  const c = localClient();
  c.middlewareStack.add(
    (next, context) => async (args) => {
      const entry: Sent = { command: context.commandName ?? '?', input: args.input as Record<string, unknown> };
      sent.push(entry);
      try {
        return await next(args);
      } catch (err) {
        entry.error = (err as Error).name;
        throw err;
      }
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return c;
}

function container(client: DynamoDBClient, tables: TableNames) {
  const config = loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput, ALERTS_TABLE: tables.alerts, RULE_CACHE_TTL_MS: '1000', WATERMARK_DELAY_MS: '0' });
  const reports: IngestReport[] = [];
  const deps = wireIngest(client, config);
  return { deps, reports, ingest: createIngestHandler(deps, (r) => reports.push(r)) };
}

const payment = (offset: number, user = 'u1', at = WINDOW + offset * 1_000): RecordInput => ({
  topic: 'user_events',
  partition: 0,
  offset,
  key: user,
  value: { user_id: user, action: 'payment', amount: 2.5, timestamp: at },
  timestamp: at,
});

let client: DynamoDBClient;
beforeAll(() => {
  client = localClient();
});
afterAll(() => client.destroy());

async function alertRecord(tables: TableNames, id: string) {
  const item = (await client.send(new GetItemCommand({ TableName: tables.alerts, Key: { pk: { S: `alert#${id}` }, sk: { S: 'alert' } }, ConsistentRead: true }))).Item;
  return item && storedAlertOf(item);
}

describe('early alerts on DynamoDB', () => {
  it('fire from the write answer (ALL_NEW), once across racing invocations, and are completed at close', async () => {
    const tables = await freshTables(client);
    const sentA: Sent[] = [];
    const sentB: Sent[] = [];
    const a = container(recordingClient(sentA), tables);
    const b = container(recordingClient(sentB), tables);
    const id = alertId('payments', 'u1', WINDOW, 'payments-spree');

    await a.ingest(encodeKafkaEvent([0, 1, 2, 3, 4].map((o) => payment(o))));
    expect(await alertRecord(tables, id)).toBeUndefined();
    // The same batch to two invocations at once (a retry racing a slow first attempt): one write
    // applies, the other is refused as a duplicate and answers with what is stored; both evaluate.
    const batch = encodeKafkaEvent([5, 6, 7, 8, 9, 10, 11].map((o) => payment(o)));
    await Promise.all([a.ingest(batch), b.ingest(batch)]);

    const record = await alertRecord(tables, id);
    expect(record).toMatchObject({ id, timing: 'early', rule: 'payments-spree', features: { count: 12, amount: 30 }, firedBy: { partitionId: 'user_events-0', offset: 11 } });
    expect(record!.firedAt).toBe(record!.raisedAt);

    const all = [...sentA, ...sentB];
    // The due pages are UpdateItems of the windows table too; they are no window writes.
    const windowWrites = all.filter((s) => s.command === 'UpdateItemCommand' && s.input.TableName === tables.windows && !isDuePagePk(String((s.input.Key as { pk?: { S?: string } } | undefined)?.pk?.S)));
    // Payments has an early rule: every window write asks for the item back, nothing reads it.
    expect(windowWrites.length).toBeGreaterThan(0);
    expect(windowWrites.every((s) => s.input.ReturnValues === 'ALL_NEW')).toBe(true);
    expect(all.filter((s) => s.input.TableName === tables.windows && s.command !== 'UpdateItemCommand')).toEqual([]);
    const puts = all.filter((s) => s.command === 'PutItemCommand' && s.input.TableName === tables.alerts);
    expect(puts.every((s) => s.input.ConditionExpression === 'attribute_not_exists(pk)')).toBe(true);
    // Each invocation that saw the rule true put once; at most one put created the record.
    expect(puts.filter((s) => s.error === undefined)).toHaveLength(1);
    expect(puts.filter((s) => s.error !== undefined).every((s) => s.error === 'ConditionalCheckFailedException')).toBe(true);
    expect([...a.reports, ...b.reports].reduce((n, r) => n + r.earlyAlerts, 0)).toBe(1);

    // More payments and a later event that moves the watermark past the window; then the closer.
    await a.ingest(encodeKafkaEvent([payment(12), payment(13, 'u2', WINDOW + 2 * FIVE_MIN)]));
    const { cache } = wireRules(client, { stateTable: tables.state, ttlMs: 1 });
    const report = await closeWindows({
      store: new DynamoCloserStore(client, { windowsTable: tables.windows, stateTable: tables.state }),
      alerts: new DynamoAlertStore(client, { tableName: tables.alerts, retentionMs: 86_400_000 }),
      pipelines: [payments],
      rules: () => cache.rules(),
      watermark: { delayMs: 0, idleTimeoutMs: 3_600_000, policy: 'min' },
      resultPipelines: new Set(),
      concurrency: 2,
      now: Date.now,
      remainingMs: () => 60_000,
      reserveMs: 0,
    });
    expect(report.pipelines[0]).toMatchObject({ closed: 1, alerts: 1, duplicateAlerts: 0 });
    const closed = await alertRecord(tables, id);
    expect(closed).toMatchObject({ ...record, finalFeatures: { count: 13, amount: 32.5 } });
    expect(closed!.closedAt).toBeGreaterThanOrEqual(record!.firedAt!);
  });
});
