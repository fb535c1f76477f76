/** What benchmark sections share: one DynamoDB Local, fresh tables, and request-counting clients. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
  const make = async () =>
    new DynamoDBClient({ endpoint: await endpoint(), region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  let n = 0;
  const admin = await make();
  const url = await endpoint();
  return {
    async freshTables(prefix) {
      const names = localTableNames(`${prefix}-${++n}`);
      await ensureTables(admin, names);
      return names;
    },
    countingClient() {
      const counts: Record<string, number> = {};
      const client = new DynamoDBClient({ endpoint: url, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
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
