/** CloserStore on DynamoDB: partition marks and pipeline watermarks on the state table, windows via the due index. */
import { StoreInconsistencyError } from '../errors.ts';
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
  paginateQuery,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { CloserStore, DueCursor, DueWindow } from '../../closer/ports.ts';
import type { PartitionMark } from '../../closer/watermark.ts';
import type { StoredWindow } from '../../windows/features-of.ts';
import { WINDOW_ATTR as A, windowPk, windowsTable } from '../tables.ts';
import { storedWindowOf } from './window-items.ts';
import { WATERMARK_PK_PREFIX } from './watermark-store.ts';

export const PIPELINE_WATERMARK_PK = 'pipeline-watermark';

export interface DynamoCloserStoreOptions {
  windowsTable: string;
  stateTable: string;
}

const DUE_INDEX = windowsTable.indexes[0]!.name;

export class DynamoCloserStore implements CloserStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoCloserStoreOptions,
  ) {}

  async partitionMarks(topic: string): Promise<PartitionMark[]> {
    const marks: PartitionMark[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.options.stateTable,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: WATERMARK_PK_PREFIX + topic } },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        marks.push({ partition: Number(item.sk!.S), maxEventTime: Number(item.maxEventTime!.N), advancedAt: Number(item.advancedAt!.N) });
      }
    }
    return marks;
  }

  async dueWindows(pipeline: string, shard: number, upTo: number, limit: number, after?: DueCursor): Promise<{ windows: DueWindow[]; next?: DueCursor }> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.options.windowsTable,
        IndexName: DUE_INDEX,
        KeyConditionExpression: '#ds = :ds AND #we <= :upTo',
        ExpressionAttributeNames: { '#ds': A.dueShard, '#we': A.windowEnd },
        ExpressionAttributeValues: { ':ds': { S: `${pipeline}#${shard}` }, ':upTo': { N: String(upTo) } },
        Limit: limit,
        ExclusiveStartKey: after as Record<string, AttributeValue> | undefined,
      }),
    );
    const windows = (out.Items ?? []).map((item) => {
      const pk = item.pk!.S!;
      return { pipeline, key: pk.slice(pipeline.length + 1), windowStart: Number(item.sk!.N), windowEnd: Number(item[A.windowEnd]!.N) };
    });
    return out.LastEvaluatedKey ? { windows, next: out.LastEvaluatedKey } : { windows };
  }

  async close(w: DueWindow, now: number): Promise<{ window: StoredWindow; closedNow: boolean }> {
    const Key = { pk: { S: windowPk(w.pipeline, w.key) }, sk: { N: String(w.windowStart) } };
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.windowsTable,
          Key,
          UpdateExpression: 'SET #closed = :now',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#closed)',
          ExpressionAttributeNames: { '#closed': A.closedAt },
          ExpressionAttributeValues: { ':now': { N: String(now) } },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { window: storedWindowOf(out.Attributes!), closedNow: true };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const item = err.Item ?? (await this.client.send(new GetItemCommand({ TableName: this.options.windowsTable, Key, ConsistentRead: true }))).Item;
      if (!item) throw new StoreInconsistencyError(`window ${w.pipeline}/${w.key}/${w.windowStart} is in the due index but not in the table`);
      return { window: storedWindowOf(item), closedNow: false };
    }
  }

  async finish(w: DueWindow): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.options.windowsTable,
        Key: { pk: { S: windowPk(w.pipeline, w.key) }, sk: { N: String(w.windowStart) } },
        UpdateExpression: 'REMOVE #ds',
        ConditionExpression: 'attribute_exists(#closed)',
        ExpressionAttributeNames: { '#ds': A.dueShard, '#closed': A.closedAt },
      }),
    );
  }

  async saveWatermark(pipeline: string, watermark: number): Promise<number> {
    const Key = { pk: { S: PIPELINE_WATERMARK_PK }, sk: { S: pipeline } };
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.stateTable,
          Key,
          UpdateExpression: 'SET watermark = :w',
          ConditionExpression: 'attribute_not_exists(watermark) OR watermark < :w',
          ExpressionAttributeValues: { ':w': { N: String(watermark) } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return watermark;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return Math.max(watermark, Number(err.Item?.watermark?.N ?? watermark));
    }
  }
}
