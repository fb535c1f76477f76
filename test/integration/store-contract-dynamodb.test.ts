/** The DynamoDB adapters, on DynamoDB Local, against the store contract the in-memory ones pass too. */
import { GetItemCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { DynamoAlertStore, setAsideKey, storedAlertOf } from '../../lib/store/dynamodb/alert-store.ts';
import { DynamoCloserStore } from '../../lib/store/dynamodb/closer-store.ts';
import { DynamoDuePageStore } from '../../lib/store/dynamodb/due-page-store.ts';
import { DynamoSideOutputStore } from '../../lib/store/dynamodb/side-output-store.ts';
import { DynamoWatermarkStore } from '../../lib/store/dynamodb/watermark-store.ts';
import { DynamoWindowStore } from '../../lib/store/dynamodb/window-store.ts';
import { WINDOW_ATTR as A, windowPk } from '../../lib/store/tables.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';
import { storeContract } from '../support/store-contract.ts';

let client: DynamoDBClient;
beforeAll(() => {
  client = localClient();
});
afterAll(() => client.destroy());

const sorted = (xs: (number | string)[]) => [...xs].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : 1));

storeContract('DynamoDB', async ({ retentionMs, now }) => {
  const tables = await freshTables(client);
  return {
    windows: new DynamoWindowStore(client, { tableName: tables.windows, retentionMs, now }),
    duePages: new DynamoDuePageStore(client, { tableName: tables.windows, retentionMs, now }),
    watermarks: new DynamoWatermarkStore(client, tables.state, now),
    sideOutput: new DynamoSideOutputStore(client, { tableName: tables.sideOutput, retentionMs }, now),
    closer: new DynamoCloserStore(client, { windowsTable: tables.windows, stateTable: tables.state }),
    alerts: new DynamoAlertStore(client, { tableName: tables.alerts, retentionMs }),
    probe: {
      async window(pipeline, key, windowStart) {
        const Key = { pk: { S: windowPk(pipeline, key) }, sk: { N: String(windowStart) } };
        const item = (await client.send(new GetItemCommand({ TableName: tables.windows, Key, ConsistentRead: true }))).Item;
        if (!item) return undefined;
        const slots: Record<string, number | (number | string)[]> = {};
        const marks: Record<string, number> = {};
        for (const [name, v] of Object.entries(item)) {
          if (name.startsWith(A.slotPrefix)) slots[name.slice(A.slotPrefix.length)] = v.N !== undefined ? Number(v.N) : v.NS ? sorted(v.NS.map(Number)) : sorted(v.SS ?? []);
          if (name.startsWith(A.markPrefix)) marks[name.slice(A.markPrefix.length)] = Number(v.N);
        }
        return { slots, marks, closed: item[A.closedAt] !== undefined, ttl: Number(item[A.ttl]!.N), due: item[A.dueShard] !== undefined || (item[A.finishedAt] === undefined && item[A.setAsideAt] === undefined) };
      },
      async sideOutput() {
        const items = (await client.send(new ScanCommand({ TableName: tables.sideOutput, ConsistentRead: true }))).Items ?? [];
        return items.map((i) => `${i.kind!.S}#${i.topic!.S}-${i.partition!.N}@${i.offset!.N}#${i.pipeline?.S ?? ''}`).sort();
      },
      async alert(id) {
        const item = (await client.send(new GetItemCommand({ TableName: tables.alerts, Key: { pk: { S: `alert#${id}` }, sk: { S: 'alert' } }, ConsistentRead: true }))).Item;
        return item && storedAlertOf(item);
      },
      async alertExists(id) {
        return (await client.send(new GetItemCommand({ TableName: tables.alerts, Key: { pk: { S: `alert#${id}` }, sk: { S: 'alert' } }, ConsistentRead: true }))).Item !== undefined;
      },
      async resultLevel(pipeline, key, windowStart) {
        const Key = { pk: { S: `${pipeline}#${key}` }, sk: { N: String(windowStart) } };
        return (await client.send(new GetItemCommand({ TableName: tables.windows, Key, ConsistentRead: true }))).Item?.[A.level]?.S;
      },
      async setAsideReason(pipeline, key, windowStart) {
        const { pk, sk } = setAsideKey({ pipeline, key, windowStart });
        return (await client.send(new GetItemCommand({ TableName: tables.alerts, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }))).Item?.reason?.S;
      },
    },
  };
});
