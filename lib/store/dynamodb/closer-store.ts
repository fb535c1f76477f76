/** CloserStore on DynamoDB: partition marks and pipeline watermarks on the state table, windows via the due index. */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
  paginateQuery,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { UnclosableWindowError, type CloserStore, type DueCursor, type DueEntry, type DuePageEntry, type DueWindow, type QuietClose, type WindowVerdict } from '../../closer/ports.ts';
import type { PartitionMark } from '../../closer/watermark.ts';
import type { StoredWindow } from '../../windows/features-of.ts';
import { duePageShardOf, isDuePagePk, WINDOW_ATTR as A, windowPk, windowsTable } from '../tables.ts';
import type { StoredBucket } from '../ports.ts';
import { DynamoBucketReader } from './bucket-reader.ts';
import { pagedWindowsOf } from './due-page-store.ts';
import { storedWindowOf } from './window-items.ts';
import { WATERMARK_PK_PREFIX } from './watermark-store.ts';

export const PIPELINE_WATERMARK_PK = 'pipeline-watermark';

export interface DynamoCloserStoreOptions {
  windowsTable: string;
  stateTable: string;
}

const DUE_INDEX = windowsTable.indexes[0]!.name;

/** The verdict's attributes as `, #a = :a` clauses of a SET (empty without a verdict; no level, no attribute). */
function verdictUpdate(verdict: WindowVerdict | undefined): { sets: string; names: Record<string, string>; values: Record<string, AttributeValue> } {
  if (!verdict) return { sets: '', names: {}, values: {} };
  const names: Record<string, string> = { '#evat': A.evaluatedAt };
  const values: Record<string, AttributeValue> = { ':evat': { N: String(verdict.evaluatedAt) } };
  let sets = ', #evat = :evat';
  if (verdict.level !== undefined) {
    names['#lvl'] = A.level;
    values[':lvl'] = { S: verdict.level };
    sets += ', #lvl = :lvl';
  }
  return { sets, names, values };
}

export class DynamoCloserStore implements CloserStore {
  private readonly reader: DynamoBucketReader;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoCloserStoreOptions,
  ) {
    this.reader = new DynamoBucketReader(client, options.windowsTable);
  }

  buckets(pipeline: string, key: string, from: number, to: number): Promise<StoredBucket[]> {
    return this.reader.buckets(pipeline, key, from, to);
  }

  async advanceBucket(w: DueWindow, evaluatedThrough: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.windowsTable,
          Key: { pk: { S: windowPk(w.pipeline, w.key) }, sk: { N: String(w.windowStart) } },
          // Its own due entry, in its pages' shard (so the closer still meets the key's buckets
          // oldest first): the page that listed it can go. A bucket with one keeps it.
          UpdateExpression: 'SET #thr = :thr, #ds = if_not_exists(#ds, :ds)',
          // A repeated or racing run never moves it back.
          ConditionExpression: 'attribute_exists(#closed) AND (attribute_not_exists(#thr) OR #thr < :thr)',
          ExpressionAttributeNames: { '#thr': A.evaluatedThrough, '#closed': A.closedAt, '#ds': A.dueShard },
          ExpressionAttributeValues: { ':thr': { N: String(evaluatedThrough) }, ':ds': { S: duePageShardOf(w.pipeline, w.key) } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      if (err.Item?.[A.closedAt] === undefined) throw new UnclosableWindowError(`bucket ${w.pipeline}/${w.key}/${w.windowStart} cannot advance: it is not closed`);
    }
  }

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

  async dueWindows(pipeline: string, shard: number, upTo: number, limit: number, after?: DueCursor): Promise<{ windows: DueEntry[]; next?: DueCursor }> {
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
    const windows = (out.Items ?? []).map((item): DueEntry => {
      const pk = item.pk!.S!;
      const windowEnd = Number(item[A.windowEnd]!.N);
      if (isDuePagePk(pk)) return { pipeline, windowEnd, page: { pk, sk: Number(item.sk!.N) } };
      return { pipeline, key: pk.slice(pipeline.length + 1), windowStart: Number(item.sk!.N), windowEnd };
    });
    return out.LastEvaluatedKey ? { windows, next: out.LastEvaluatedKey } : { windows };
  }

  async readDuePage(entry: DuePageEntry): Promise<DueWindow[] | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.options.windowsTable, Key: { pk: { S: entry.page.pk }, sk: { N: String(entry.page.sk) } }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    return pagedWindowsOf(out.Item).map((w) => ({ pipeline: entry.pipeline, key: w.key, windowStart: w.windowStart, windowEnd: entry.windowEnd }));
  }

  async deleteDuePage(entry: DuePageEntry): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.options.windowsTable, Key: { pk: { S: entry.page.pk }, sk: { N: String(entry.page.sk) } } }));
  }

  async close(w: DueWindow, now: number): Promise<{ window: StoredWindow; closedNow: boolean }> {
    const Key = { pk: { S: windowPk(w.pipeline, w.key) }, sk: { N: String(w.windowStart) } };
    let item: Record<string, AttributeValue>;
    let closedNow: boolean;
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
      item = out.Attributes!;
      closedNow = true;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      // ALL_OLD returns the item whenever it exists; without one, the condition failed on attribute_exists(pk).
      const found = err.Item;
      if (!found) throw new UnclosableWindowError(`window ${w.pipeline}/${w.key}/${w.windowStart} is in the due index but not in the table`);
      item = found;
      closedNow = false;
    }
    return { window: this.decode(w, item), closedNow };
  }

  private decode(w: DueWindow, item: Record<string, AttributeValue>): StoredWindow {
    try {
      return storedWindowOf(item);
    } catch (err) {
      throw new UnclosableWindowError(`window ${w.pipeline}/${w.key}/${w.windowStart} is malformed in storage: ${(err as Error).message}`, { cause: err });
    }
  }

  async read(w: DueWindow): Promise<StoredWindow | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.options.windowsTable, Key: { pk: { S: windowPk(w.pipeline, w.key) }, sk: { N: String(w.windowStart) } }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    return this.decode(w, out.Item);
  }

  async closeQuietly(w: DueWindow, version: number, now: number, verdict?: WindowVerdict): Promise<QuietClose> {
    const v = verdictUpdate(verdict);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.windowsTable,
          Key: { pk: { S: windowPk(w.pipeline, w.key) }, sk: { N: String(w.windowStart) } },
          // Finished in the same write; REMOVE of a dueShard the window never had is a no-op.
          UpdateExpression: `SET #closed = :now, #fin = :now${v.sets} REMOVE #ds`,
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#closed) AND #ver = :ver',
          ExpressionAttributeNames: { '#closed': A.closedAt, '#fin': A.finishedAt, '#ds': A.dueShard, '#ver': A.version, ...v.names },
          ExpressionAttributeValues: { ':now': { N: String(now) }, ':ver': { N: String(version) }, ...v.values },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'closed';
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      if (!err.Item) throw new UnclosableWindowError(`window ${w.pipeline}/${w.key}/${w.windowStart} is in the due index but not in the table`);
      return err.Item[A.closedAt] !== undefined ? 'closed-before' : 'changed';
    }
  }

  async finish(w: DueWindow, verdict: WindowVerdict | undefined, now: number): Promise<void> {
    const v = verdictUpdate(verdict);
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.options.windowsTable,
        Key: { pk: { S: windowPk(w.pipeline, w.key) }, sk: { N: String(w.windowStart) } },
        UpdateExpression: `SET #fin = :fin${v.sets} REMOVE #ds`,
        ConditionExpression: 'attribute_exists(#closed)',
        ExpressionAttributeNames: { '#ds': A.dueShard, '#closed': A.closedAt, '#fin': A.finishedAt, ...v.names },
        ExpressionAttributeValues: { ':fin': { N: String(now) }, ...v.values },
      }),
    );
  }

  async setAside(w: DueWindow, now: number): Promise<void> {
    const Key = { pk: { S: windowPk(w.pipeline, w.key) }, sk: { N: String(w.windowStart) } };
    const names = { '#ds': A.dueShard, '#closed': A.closedAt, '#aside': A.setAsideAt };
    const update = (UpdateExpression: string, values?: Record<string, AttributeValue>) =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.options.windowsTable,
          Key,
          UpdateExpression,
          // Never creates an item: a window gone from the table has nothing left to set aside.
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: Object.fromEntries(Object.entries(names).filter(([ph]) => UpdateExpression.includes(ph))),
          ...(values ? { ExpressionAttributeValues: values } : {}),
        }),
      );
    try {
      // Closed too, so ingest turns later events away as late instead of bringing it back to the index.
      await update('SET #closed = if_not_exists(#closed, :now), #aside = :now REMOVE #ds', { ':now': { N: String(now) } });
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return;
      // An item at the 400 KB limit cannot take two more attributes; leaving the index only shrinks it.
      if ((err as Error).name !== 'ValidationException') throw err;
      try {
        await update('REMOVE #ds');
      } catch (again) {
        if (!(again instanceof ConditionalCheckFailedException)) throw again;
      }
    }
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
