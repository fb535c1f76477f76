/** Per-test-file tables in the shared DynamoDB Local, and a client pointed at it. */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { ensureTables, localTableNames } from '../../local/services/tables.ts';
import type { TableNames } from '../../lib/store/tables.ts';

export function localClient(options: { maxAttempts?: number } = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: inject('dynamoEndpoint'),
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: options.maxAttempts ?? 3,
  });
}

/** Fresh tables with a unique prefix, so test files never see each other's items. */
export async function freshTables(client: DynamoDBClient): Promise<TableNames> {
  const names = localTableNames(`t${randomUUID().slice(0, 8)}`);
  await ensureTables(client, names);
  return names;
}
