/** The DynamoDB sequence store, on DynamoDB Local, against the contract the in-memory one passes too. */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { DynamoSequenceStore, SEQUENCE_SK, sequencePk } from '../../lib/store/dynamodb/sequence-store.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';
import { sequenceStoreContract } from '../support/sequence-store-contract.ts';

let client: DynamoDBClient;
beforeAll(() => {
  client = localClient();
});
afterAll(() => client.destroy());

sequenceStoreContract('DynamoDB', async () => {
  const tables = await freshTables(client);
  return {
    store: new DynamoSequenceStore(client, tables.state),
    async expiresAt(key) {
      const item = (await client.send(new GetItemCommand({ TableName: tables.state, Key: { pk: { S: sequencePk(key) }, sk: { S: SEQUENCE_SK } }, ConsistentRead: true }))).Item;
      return item?.ttl?.N === undefined ? undefined : Number(item.ttl.N);
    },
  };
});
