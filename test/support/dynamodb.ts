/** Per-test-file tables in the shared DynamoDB Local, and a client pointed at it. */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localDynamoClient } from '../../local/services/client.ts';
import { inject } from 'vitest';
import { ensureTables, localTableNames } from '../../local/services/tables.ts';
import type { TableNames } from '../../lib/store/tables.ts';

export function localClient(options: { maxAttempts?: number } = {}): DynamoDBClient {
  return localDynamoClient(inject('dynamoEndpoint'), options);
}

/**
 * Fresh tables with a unique prefix, so test files never see each other's items. TTL is off: the
 * tests' events are dated 2026-11-23, so their items' TTL (window end + 7 days) has passed, and
 * DynamoDB Local's sweeper would delete windows while a test reads them.
 */
export async function freshTables(client: DynamoDBClient): Promise<TableNames> {
  const names = localTableNames(`t${randomUUID().slice(0, 8)}`);
  await ensureTables(client, names, { ttl: false });
  return names;
}
