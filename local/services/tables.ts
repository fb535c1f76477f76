/** Creates streamguard's tables (lib/store/tables.ts) on a DynamoDB endpoint, for local runs and tests. */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { allTables, type TableDef, type TableNames } from '../../lib/store/tables.ts';

/** Default local names; the CDK stack lets CloudFormation name its tables. */
export function localTableNames(prefix = 'streamguard'): TableNames {
  return { windows: `${prefix}-windows`, state: `${prefix}-state`, sideOutput: `${prefix}-side-output`, alerts: `${prefix}-alerts` };
}

async function createTable(client: DynamoDBClient, def: TableDef, name: string, ttl: boolean): Promise<void> {
  const attrs = new Map<string, AttributeDefinition>();
  for (const k of [def.partitionKey, def.sortKey, ...def.indexes.flatMap((i) => [i.partitionKey, i.sortKey])]) {
    attrs.set(k.name, { AttributeName: k.name, AttributeType: k.type });
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attrs.values()],
        KeySchema: [
          { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: def.sortKey.name, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: def.indexes.length
          ? def.indexes.map((i) => ({
              IndexName: i.name,
              KeySchema: [
                { AttributeName: i.partitionKey.name, KeyType: 'HASH' },
                { AttributeName: i.sortKey.name, KeyType: 'RANGE' },
              ],
              Projection: i.include.length ? { ProjectionType: 'INCLUDE', NonKeyAttributes: i.include } : { ProjectionType: 'KEYS_ONLY' },
            }))
          : undefined,
        StreamSpecification: def.stream ? { StreamEnabled: true, StreamViewType: def.stream } : undefined,
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
    return;
  }
  if (def.ttlAttribute && ttl) {
    await client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: def.ttlAttribute, Enabled: true } }));
  }
  await client.send(new DescribeTableCommand({ TableName: name }));
}

/**
 * Creates every table that does not exist yet. `ttl: false` leaves TTL off: for tests on fixed past
 * dates, whose items DynamoDB Local's TTL sweeper would otherwise delete while they run.
 */
export async function ensureTables(client: DynamoDBClient, names: TableNames, options: { ttl?: boolean } = {}): Promise<void> {
  await Promise.all(allTables.map((def) => createTable(client, def, names[def.id], options.ttl ?? true)));
}
