/** Per-test-file tables in the shared DynamoDB Local, and a client pointed at it. */
import { randomUUID } from 'node:crypto';
import { UpdateTimeToLiveCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localDynamoClient } from '../../local/services/client.ts';
import { inject } from 'vitest';
import { ensureTables, localTableNames } from '../../local/services/tables.ts';
import { allTables, type TableNames } from '../../lib/store/tables.ts';

export function localClient(options: { maxAttempts?: number } = {}): DynamoDBClient {
  return localDynamoClient(inject('dynamoEndpoint'), options);
}

/**
 * Fresh tables with a unique prefix, so test files never see each other's items. TTL is switched
 * off: tests use fixed event times (test/support/records.ts T0, 2026-11-23) whose TTL has passed,
 * and DynamoDB Local's TTL sweeper would otherwise delete items while a test reads them.
 */
export async function freshTables(client: DynamoDBClient): Promise<TableNames> {
  const names = localTableNames(`t${randomUUID().slice(0, 8)}`);
  await ensureTables(client, names);
  for (const def of allTables) {
    if (def.ttlAttribute) await client.send(new UpdateTimeToLiveCommand({ TableName: names[def.id], TimeToLiveSpecification: { AttributeName: def.ttlAttribute, Enabled: false } }));
  }
  return names;
}
