/** What benchmark sections share: one DynamoDB Local, fresh tables, and request-counting clients. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localDynamoClient } from '../local/services/client.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from '../local/services/dynamodb-local.ts';
import { ensureTables, localTableNames } from '../local/services/tables.ts';
import type { TableNames } from '../lib/store/tables.ts';

export interface BenchContext {
  freshTables(prefix: string): Promise<TableNames>;
  /** A client that counts requests by command, as sent (retries not double counted). */
  countingClient(): { client: DynamoDBClient; counts: Record<string, number> };
  close(): Promise<void>;
}

export async function createBenchContext(): Promise<BenchContext> {
  let ddb: DynamoDbLocal | undefined;
  const endpoint = async () => (ddb ??= await startDynamoDbLocal()).endpoint;
  const url = await endpoint();
  const admin = localDynamoClient(url);
  let n = 0;
  return {
    async freshTables(prefix) {
      const names = localTableNames(`${prefix}-${++n}`);
      await ensureTables(admin, names);
      return names;
    },
    countingClient() {
      const counts: Record<string, number> = {};
      const client = localDynamoClient(url);
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const name = context.commandName ?? 'unknown';
          counts[name] = (counts[name] ?? 0) + 1;
          return next(args);
        },
        { step: 'initialize', name: 'countRequests' },
      );
      return { client, counts };
    },
    async close() {
      admin.destroy();
      await ddb?.stop();
    },
  };
}
