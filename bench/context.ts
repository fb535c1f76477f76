/** What benchmark sections share: one DynamoDB Local (started on first use), fresh tables, and counting clients. */
import { CreateTableCommand, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localDynamoClient } from '../local/services/client.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from '../local/services/dynamodb-local.ts';
import { ensureTables, localTableNames } from '../local/services/tables.ts';
import type { TableNames } from '../lib/store/tables.ts';
import { countCapacity, type CapacityTally } from './capacity.ts';

export interface CountingClient {
  client: DynamoDBClient;
  /** Requests by command, as sent (retries not double counted). */
  counts: Record<string, number>;
  /** Requests and capacity units by table. */
  tally: CapacityTally;
}

export interface BenchContext {
  /** Fresh streamguard tables (windows, state, side output, alerts). */
  freshTables(prefix: string): Promise<TableNames>;
  /** A fresh table of the benchmark's own (for the naive designs). */
  createTable(input: Omit<CreateTableCommandInput, 'TableName' | 'BillingMode'>, prefix: string): Promise<string>;
  countingClient(): CountingClient;
  close(): Promise<void>;
}

export async function createBenchContext(): Promise<BenchContext> {
  let ddb: DynamoDbLocal | undefined;
  let admin: DynamoDBClient | undefined;
  const endpoint = async () => (ddb ??= await startDynamoDbLocal()).endpoint;
  const adminClient = async () => (admin ??= localDynamoClient(await endpoint()));
  let n = 0;
  return {
    async freshTables(prefix) {
      const names = localTableNames(`${prefix}-${++n}`);
      await ensureTables(await adminClient(), names);
      return names;
    },
    async createTable(input, prefix) {
      const name = `${prefix}-${++n}`;
      await (await adminClient()).send(new CreateTableCommand({ ...input, TableName: name, BillingMode: 'PAY_PER_REQUEST' }));
      return name;
    },
    countingClient() {
      if (!ddb) throw new Error('countingClient() before any table was created');
      const client = localDynamoClient(ddb.endpoint);
      const tally = countCapacity(client);
      return { client, counts: tally.commands, tally };
    },
    async close() {
      admin?.destroy();
      await ddb?.stop();
    },
  };
}
