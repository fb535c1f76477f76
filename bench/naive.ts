/**
 * The two designs the `writes` section compares against, implemented for real against DynamoDB
 * Local, each on tables of its own with the same window items as ours (the same key, the same
 * sparse `due` index a closer needs, the same slot attributes), so only the write pattern differs:
 *
 * (a) atomic counters: one unconditional UpdateItem (ADD) per event per pipeline it feeds. Not
 *     idempotent: a redelivered batch counts twice.
 * (b) the Powertools idempotency pattern, per record: a conditional PutItem of an idempotency
 *     record (status INPROGRESS, the condition Powertools' DynamoDBPersistenceLayer uses), the
 *     per-event per-pipeline UpdateItems of (a), then the UpdateItem that marks the record COMPLETED
 *     (Powertools' saveSuccess). The brief's (b) is the put plus the per-event writes; the completion
 *     update is counted separately so both readings come from the same run.
 */
import { createHash } from 'node:crypto';
import { PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import pLimit from 'p-limit';
import { decodeKafkaEvent, valueBytes, type KafkaEvent } from '../lib/codec/kafka-event.ts';
import { slotWrites } from '../lib/ingest/apply.ts';
import { DeltaFolder } from '../lib/ingest/fold.ts';
import type { WindowAggregate } from '../lib/ingest/plan.ts';
import type { Router } from '../lib/ingest/router.ts';
import { buildWindowUpdate } from '../lib/store/dynamodb/window-store.ts';
import type { WindowWrite } from '../lib/store/ports.ts';

/** One record and the per-pipeline writes its event makes in a per-event design. */
export interface NaiveRecord {
  id: string;
  writes: WindowWrite[];
}

/** Parses a batch the way the engine does and lists, per valid record, one write per pipeline it feeds. */
export function naiveRecords(event: KafkaEvent, router: Router): NaiveRecord[] {
  const out: NaiveRecord[] = [];
  for (const partition of decodeKafkaEvent(event)) {
    for (const record of partition) {
      const route = router.get(record.topic);
      const value = valueBytes(record);
      if (!route || value === undefined) continue;
      let json: unknown;
      try {
        json = JSON.parse(value.toString('utf8'));
      } catch {
        continue;
      }
      const parsed = route.family.parse(json);
      if (!parsed.ok) continue;
      const e = parsed.event;
      const writes: WindowWrite[] = [];
      for (const pipeline of route.pipelines) {
        const kept = pipeline.keep(e);
        if (!kept && pipeline.rejectedAs === undefined) continue;
        const key = pipeline.keyOf(e);
        if (key === undefined || key === '') continue;
        const folder = new DeltaFolder(pipeline);
        folder.add(e, kept);
        const slots = slotWrites({ pipeline } as WindowAggregate, folder.delta());
        // One write per window the event falls in (one, for tumbling windows).
        for (const window of pipeline.window.windowsFor(e.eventTime)) {
          writes.push({ pipeline: pipeline.name, key, windowStart: window.start, windowEnd: window.end, slots, marks: [] });
        }
      }
      out.push({ id: `${record.topic}-${record.partition}-${record.offset}`, writes });
    }
  }
  return out;
}

const RETENTION_MS = 7 * 86_400_000;

/** The atomic-counter UpdateItem: our window item's content, without offset marks or any condition. */
export function atomicCounterUpdate(write: WindowWrite, tableName: string) {
  const input = buildWindowUpdate({ ...write, marks: [] }, { tableName, retentionMs: RETENTION_MS });
  // Without the condition, the placeholders only it used must go too: DynamoDB refuses unused ones.
  const used = (placeholder: string) => new RegExp(`${placeholder}(?![\\w])`).test(input.UpdateExpression);
  return {
    TableName: input.TableName,
    Key: input.Key,
    UpdateExpression: input.UpdateExpression,
    ExpressionAttributeNames: Object.fromEntries(Object.entries(input.ExpressionAttributeNames).filter(([k]) => used(k))),
    ExpressionAttributeValues: Object.fromEntries(Object.entries(input.ExpressionAttributeValues).filter(([k]) => used(k))),
  };
}

/** (a): every write of the batch, `concurrency` in flight (as our ingest's WRITE_CONCURRENCY). */
export async function applyAtomicCounters(client: DynamoDBClient, table: string, records: NaiveRecord[], concurrency: number): Promise<void> {
  const limit = pLimit(concurrency);
  await Promise.all(records.flatMap((r) => r.writes.map((w) => limit(() => client.send(new UpdateItemCommand(atomicCounterUpdate(w, table)))))));
}

/** The idempotency key Powertools builds: "<function name>#<md5 of the selected payload>". */
export function idempotencyKey(functionName: string, payload: string): string {
  return `${functionName}#${createHash('md5').update(payload).digest('hex')}`;
}

/** (b): per record, `concurrency` records in flight; within one, put, writes, complete. */
export async function applyIdempotentRecords(
  client: DynamoDBClient,
  tables: { counters: string; idempotency: string },
  records: NaiveRecord[],
  concurrency: number,
  now: () => number = Date.now,
): Promise<{ duplicates: number }> {
  const limit = pLimit(concurrency);
  let duplicates = 0;
  await Promise.all(
    records.map((r) =>
      limit(async () => {
        const id = idempotencyKey('streamguard-naive-ingest', r.id);
        const t = now();
        try {
          await client.send(
            new PutItemCommand({
              TableName: tables.idempotency,
              Item: {
                id: { S: id },
                expiration: { N: String(Math.floor(t / 1000) + 3600) },
                in_progress_expiration: { N: String(t + 60_000) },
                status: { S: 'INPROGRESS' },
              },
              ConditionExpression:
                'attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)',
              ExpressionAttributeNames: { '#id': 'id', '#expiry': 'expiration', '#in_progress_expiry': 'in_progress_expiration', '#status': 'status' },
              ExpressionAttributeValues: { ':now': { N: String(Math.floor(t / 1000)) }, ':now_in_millis': { N: String(t) }, ':inprogress': { S: 'INPROGRESS' } },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
        } catch (err) {
          if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
          duplicates++;
          return;
        }
        await Promise.all(r.writes.map((w) => client.send(new UpdateItemCommand(atomicCounterUpdate(w, tables.counters)))));
        await client.send(
          new UpdateItemCommand({
            TableName: tables.idempotency,
            Key: { id: { S: id } },
            UpdateExpression: 'SET #response_data = :response_data, #expiry = :expiry, #status = :status',
            ExpressionAttributeNames: { '#response_data': 'data', '#expiry': 'expiration', '#status': 'status' },
            ExpressionAttributeValues: {
              ':response_data': { S: JSON.stringify({ pipelines: r.writes.length }) },
              ':expiry': { N: String(Math.floor(now() / 1000) + 3600) },
              ':status': { S: 'COMPLETED' },
            },
          }),
        );
      }),
    ),
  );
  return { duplicates };
}
