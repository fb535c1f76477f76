/** Per-test-file tables in the shared DynamoDB Local, and a client pointed at it. */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localDynamoClient } from '../../local/services/client.ts';
import { inject } from 'vitest';
import { ensureTables, localTableNames } from '../../local/services/tables.ts';
import type { TableNames } from '../../lib/store/tables.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import type { IngestReport } from '../../lib/ingest/ingest-batch.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { wireIngest } from '../../lib/ingest/wire.ts';

export function localClient(options: { maxAttempts?: number } = {}): DynamoDBClient {
  return localDynamoClient(inject('dynamoEndpoint'), options);
}

/** Fresh tables with a unique prefix, so test files never see each other's items. */
export async function freshTables(client: DynamoDBClient): Promise<TableNames> {
  const names = localTableNames(`t${randomUUID().slice(0, 8)}`);
  await ensureTables(client, names);
  return names;
}

/**
 * The ingest handler wired as deployed (wireIngest from env-shaped config) on fresh tables, with a
 * watermark delay and every batch's report kept.
 */
export async function freshIngest(client: DynamoDBClient, delayMs: number) {
  const tables = await freshTables(client);
  const config = loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput, WATERMARK_DELAY_MS: String(delayMs) });
  const deps = wireIngest(client, config);
  const reports: IngestReport[] = [];
  return { tables, deps, reports, handler: createIngestHandler(deps, (r) => reports.push(r)) };
}
