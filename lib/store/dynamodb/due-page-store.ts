/**
 * Due pages on DynamoDB (docs/design.md, "Due pages"): items of the windows table, pk
 * "due#<dueShard>#<windowEnd>#<batch id>", sk the chunk, carrying dueShard and windowEnd so they
 * sit in the windows' sparse `due` index, and the windows they list as "<start>#<key>" strings.
 */
import { UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import pLimit from 'p-limit';
import { isTransient, TransientStoreError } from '../errors.ts';
import type { DuePage, DuePageStore, PagedWindow } from '../ports.ts';
import { windowTtl } from '../retention.ts';
import { duePagePk, WINDOW_ATTR as A } from '../tables.ts';

export interface DynamoDuePageStoreOptions {
  tableName: string;
  /** A page lives as long as the windows it lists (windowTtl). */
  retentionMs: number;
  now?: () => number;
  /** Pages written at once. */
  concurrency?: number;
}

/** A listed window as stored on its page. */
export function pageEntry(w: PagedWindow): string {
  return `${w.windowStart}#${w.key}`;
}

/** The windows a page item lists; a malformed entry is an Error naming the page. */
export function pagedWindowsOf(item: Record<string, AttributeValue>): PagedWindow[] {
  const list = item[A.pageWindows]?.L;
  if (!list) throw new Error(`due page ${item.pk?.S}/${item.sk?.N} has no ${A.pageWindows} list`);
  return list.map((v) => {
    const s = v.S ?? '';
    const cut = s.indexOf('#');
    const windowStart = Number(s.slice(0, cut));
    if (cut <= 0 || !Number.isFinite(windowStart)) throw new Error(`due page ${item.pk?.S}/${item.sk?.N}: malformed entry "${s}"`);
    return { windowStart, key: s.slice(cut + 1) };
  });
}

export class DynamoDuePageStore implements DuePageStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoDuePageStoreOptions,
  ) {}

  async put(pages: readonly DuePage[]): Promise<void> {
    const now = (this.options.now ?? Date.now)();
    const limit = pLimit(this.options.concurrency ?? 16);
    // UpdateItem, not PutItem: ingest's only write action on the windows table stays UpdateItem.
    // Every attribute is set, so a rewrite of the same page is an overwrite.
    const results = await Promise.allSettled(
      pages.map((p) =>
        limit(() =>
          this.client.send(
            new UpdateItemCommand({
              TableName: this.options.tableName,
              Key: { pk: { S: duePagePk(p.dueShard, p.windowEnd, p.batchId) }, sk: { N: String(p.chunk) } },
              UpdateExpression: 'SET #ds = :ds, #we = :we, #pl = :pl, #w = :w, #ttl = :ttl',
              ExpressionAttributeNames: { '#ds': A.dueShard, '#we': A.windowEnd, '#pl': A.pipeline, '#w': A.pageWindows, '#ttl': A.ttl },
              ExpressionAttributeValues: {
                ':ds': { S: p.dueShard },
                ':we': { N: String(p.windowEnd) },
                ':pl': { S: p.pipeline },
                ':w': { L: p.windows.map((w) => ({ S: pageEntry(w) })) },
                ':ttl': { N: String(windowTtl(p.windowEnd, now, this.options.retentionMs)) },
              },
            }),
          ),
        ),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failed) return;
    const err = failed.reason as Error;
    if (isTransient(err)) throw new TransientStoreError(`due pages: ${err.name}`, { cause: err });
    throw err;
  }
}
