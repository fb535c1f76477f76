/** BucketReader on DynamoDB: one strongly consistent Query of a key's range of window items. */
import { paginateQuery, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UnclosableWindowError } from '../../closer/ports.ts';
import type { BucketReader, StoredBucket } from '../ports.ts';
import { WINDOW_ATTR as A, windowPk } from '../tables.ts';
import { storedWindowOf } from './window-items.ts';

export class DynamoBucketReader implements BucketReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async buckets(pipeline: string, key: string, from: number, to: number): Promise<StoredBucket[]> {
    const out: StoredBucket[] = [];
    // Bounded: at most (to - from) / advance + 1 items, one page unless they are large.
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': { S: windowPk(pipeline, key) }, ':from': { N: String(from) }, ':to': { N: String(to) } },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        let window;
        try {
          window = storedWindowOf(item);
        } catch (err) {
          throw new UnclosableWindowError(`bucket ${pipeline}/${key}/${item.sk?.N} is malformed in storage: ${(err as Error).message}`, { cause: err });
        }
        const through = item[A.evaluatedThrough]?.N;
        // Its own entry (a deployment before due pages, or left due for a later window), or not finished.
        out.push({ window, due: item[A.dueShard] !== undefined || window.finished === undefined, ...(through !== undefined ? { evaluatedThrough: Number(through) } : {}) });
      }
    }
    return out;
  }
}
