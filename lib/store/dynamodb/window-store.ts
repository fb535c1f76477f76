/** WindowStore on DynamoDB: one conditional UpdateItem per aggregate, no read before it. */
import {
  ConditionalCheckFailedException,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { isTransient, RejectedWriteError, TransientStoreError } from '../errors.ts';
import type { WindowStore, WindowWrite, WindowWriteResult } from '../ports.ts';
import { windowTtl } from '../retention.ts';
import { WINDOW_ATTR as A, windowPk } from '../tables.ts';
import { addSlotUpdates, type Item, type SlotCheck } from './slot-updates.ts';
import { storedWindowOf } from './window-items.ts';

export interface DynamoWindowStoreOptions {
  tableName: string;
  /** How long a window item outlives its end (or its first write, if later), for TTL. */
  retentionMs: number;
  /** Wall clock of the writes (epoch ms); the TTL counts from it for windows that ended before it. */
  now?: () => number;
}

/**
 * DynamoDB's documented limits on one expression ("Expression parameters" in
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html): any expression
 * string at most 4 KB, at most 300 operators or functions. Each placeholder may be 255 bytes (ours
 * are under 8) and all substitutions together 2 MB (the 400 KB item limit binds first).
 */
export const EXPRESSION_LIMITS = { bytes: 4096, operators: 300 } as const;

/**
 * Offset marks one write may guard. A fresh mark costs 4 operators in the condition
 * (`AND (attribute_not_exists(#m) OR #m < :b)`) and about 50 bytes of it; 75 partitions feeding one
 * key in one batch passed the 300 operators and were refused. The bounded-slot guards of the widest
 * pipeline take about 25 more, so 40 marks leave close to a third of each limit for slots and longer
 * placeholders, held by test/unit/window-update-limits.test.ts. An aggregate fed by more partitions
 * is written in several writes of at most this many partitions each (lib/ingest/apply.ts).
 */
export const MAX_MARKS_PER_WRITE = 40;

const num = (n: number): AttributeValue => ({ N: String(n) });

/**
 * Attempts at one write whose bounded slots (a sketch past the cap, full min/max candidates) moved
 * under it. Only writers from other partitions race here (a partition's batches are sequential), and
 * a key is normally produced to one partition; between rounds a jittered backoff spreads the racers.
 */
const MAX_SLOT_ROUNDS = 16;
const backoff = (round: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** Math.min(round, 5)));
const str = (s: string): AttributeValue => ({ S: s });

/**
 * Builds the UpdateItem input for a window write. Exported for the benchmark's request count.
 * @param observed the item a refused attempt returned: slots are then written from what it holds.
 * @param checks receives the checks of the slot conditions (not the marks'), to tell a refusal's cause.
 */
export function buildWindowUpdate(
  write: WindowWrite,
  options: DynamoWindowStoreOptions,
  now: number = (options.now ?? Date.now)(),
  observed?: Item,
  checks?: SlotCheck[],
) {
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  const sets: string[] = [];
  const adds: string[] = [];
  const conditions: string[] = [`attribute_not_exists(#closed)`];
  names['#closed'] = A.closedAt;

  // Identity: set by the first write. No dueShard: the batch lists the windows it creates on due
  // pages instead, a write per page rather than an index entry per window (docs/design.md, "Due pages").
  const ident: [string, string, AttributeValue][] = [
    ['#pl', A.pipeline, str(write.pipeline)],
    ['#wk', A.key, str(write.key)],
    ['#ws', A.windowStart, num(write.windowStart)],
    ['#we', A.windowEnd, num(write.windowEnd)],
    ['#ttl', A.ttl, num(windowTtl(write.windowEnd, now, options.retentionMs))],
  ];
  if (write.bucketOfSizeMs !== undefined) ident.push(['#bo', A.bucketOf, num(write.bucketOfSizeMs)]);
  for (const [ph, name, value] of ident) {
    names[ph] = name;
    values[`:${ph.slice(1)}`] = value;
    sets.push(`${ph} = if_not_exists(${ph}, :${ph.slice(1)})`);
  }

  // Counters blind; distinct sets and min/max candidates guarded so they stay bounded (./slot-updates.ts).
  const slotChecks = addSlotUpdates(write.slots, observed, { names, values, sets, adds, conditions });
  checks?.push(...slotChecks);

  // Every applied write bumps the version: the closer's one-write close holds only on what it read.
  names['#ver'] = A.version;
  values[':ver'] = num(1);
  adds.push('#ver :ver');

  write.marks.forEach((mark, i) => {
    names[`#m${i}`] = A.markPrefix + mark.partitionId;
    values[`:m${i}`] = num(mark.setTo);
    sets.push(`#m${i} = :m${i}`);
    if ('below' in mark) {
      values[`:b${i}`] = num(mark.below);
      conditions.push(`(attribute_not_exists(#m${i}) OR #m${i} < :b${i})`);
    } else if (mark.equals === null) {
      conditions.push(`attribute_not_exists(#m${i})`);
    } else {
      values[`:e${i}`] = num(mark.equals);
      conditions.push(`#m${i} = :e${i}`);
    }
  });

  return {
    TableName: options.tableName,
    Key: { pk: str(windowPk(write.pipeline, write.key)), sk: num(write.windowStart) },
    UpdateExpression: `SET ${sets.join(', ')}${adds.length ? ` ADD ${adds.join(', ')}` : ''}`,
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    // The window after the write, for rules that fire early: the write's own answer, no read.
    // Otherwise UPDATED_OLD, which is empty when this write made the item: whether to list it on a
    // due page, with no read (and no unit: return values cost none).
    ReturnValues: write.returnStored ? ('ALL_NEW' as const) : ('UPDATED_OLD' as const),
  };
}

function marksOf(item: Record<string, AttributeValue> | undefined): Map<string, number> {
  const marks = new Map<string, number>();
  if (!item) return marks;
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith(A.markPrefix) && value.N !== undefined) marks.set(name.slice(A.markPrefix.length), Number(value.N));
  }
  return marks;
}

export class DynamoWindowStore implements WindowStore {
  readonly maxMarksPerWrite = MAX_MARKS_PER_WRITE;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoWindowStoreOptions,
  ) {}

  async write(write: WindowWrite): Promise<WindowWriteResult> {
    // A caller bug, not bad data (applyAggregate splits wider aggregates before they get here): a
    // plain Error, so ingest's isolation (which takes RangeError for a record's fault) fails the batch.
    if (write.marks.length > MAX_MARKS_PER_WRITE) throw new Error(`window ${write.pipeline}/${write.key}/${write.windowStart}: ${write.marks.length} offset marks in one write, over ${MAX_MARKS_PER_WRITE}`);
    let observed: Item | undefined;
    for (let round = 0; round < MAX_SLOT_ROUNDS; round++) {
      const checks: SlotCheck[] = [];
      try {
        const answer = await this.client.send(new UpdateItemCommand(buildWindowUpdate(write, this.options, undefined, observed, checks)));
        if (write.returnStored) {
          const stored = answer.Attributes ? storedWindowOf(answer.Attributes) : undefined;
          return { applied: true, created: stored?.version === 1, ...(stored ? { stored } : {}) };
        }
        return { applied: true, created: answer.Attributes?.[A.version] === undefined };
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) {
          const item = err.Item;
          // Every slot condition held, so the marks or the closed window refused it: the caller's call.
          if (!item || item[A.closedAt] !== undefined || checks.every((holds) => holds(item))) {
            const refused: WindowWriteResult = { applied: false, closed: item?.[A.closedAt] !== undefined, marks: marksOf(item) };
            if (write.returnStored && item?.[A.pipeline] !== undefined) refused.stored = storedWindowOf(item);
            return refused;
          }
          // A bounded slot is at its bound: write again from what is stored, under the same marks.
          // (The first retry is immediate: it is the common case of one writer finding the bound.)
          if (observed !== undefined) await backoff(round);
          observed = item;
          continue;
        }
        const where = `window ${write.pipeline}/${write.key}/${write.windowStart}`;
        if (isTransient(err)) throw new TransientStoreError(`${where}: ${(err as Error).name}`, { cause: err });
        if ((err as Error).name === 'ValidationException') throw new RejectedWriteError(`${where}: ${(err as Error).message}`, { cause: err });
        throw err;
      }
    }
    throw new TransientStoreError(`window ${write.pipeline}/${write.key}/${write.windowStart}: a bounded slot kept changing under concurrent writers`);
  }
}
