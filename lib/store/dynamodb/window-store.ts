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
import { dueShardOf, WINDOW_ATTR as A, windowPk } from '../tables.ts';

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
 * (`AND (attribute_not_exists(#m) OR #m < :b)`) and about 50 bytes of it, so 74 marks reach the 300
 * operators and 75 partitions feeding one key in one batch were refused. 50 marks use 207 operators
 * (condition and update together) and under 2.6 KB: a third of each limit is left for slots and
 * longer placeholders, held by test/unit/window-update-limits.test.ts. An aggregate fed by more
 * partitions is written in several writes of at most this many partitions each (lib/ingest/apply.ts).
 */
export const MAX_MARKS_PER_WRITE = 50;

const num = (n: number): AttributeValue => ({ N: String(n) });
const str = (s: string): AttributeValue => ({ S: s });

/** Builds the UpdateItem input for a window write. Exported for the benchmark's request count. */
export function buildWindowUpdate(write: WindowWrite, options: DynamoWindowStoreOptions, now: number = (options.now ?? Date.now)()) {
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  const sets: string[] = [];
  const adds: string[] = [];
  const conditions: string[] = [`attribute_not_exists(#closed)`];
  names['#closed'] = A.closedAt;

  // Identity and index keys: if_not_exists keeps the due index untouched after the first write.
  const ident: [string, string, AttributeValue][] = [
    ['#pl', A.pipeline, str(write.pipeline)],
    ['#wk', A.key, str(write.key)],
    ['#ws', A.windowStart, num(write.windowStart)],
    ['#we', A.windowEnd, num(write.windowEnd)],
    ['#ds', A.dueShard, str(dueShardOf(write.pipeline, write.key))],
    ['#ttl', A.ttl, num(windowTtl(write.windowEnd, now, options.retentionMs))],
  ];
  for (const [ph, name, value] of ident) {
    names[ph] = name;
    values[`:${ph.slice(1)}`] = value;
    sets.push(`${ph} = if_not_exists(${ph}, :${ph.slice(1)})`);
  }

  write.slots.forEach((slot, i) => {
    names[`#s${i}`] = A.slotPrefix + slot.name;
    switch (slot.op) {
      case 'add':
        values[`:s${i}`] = num(slot.value as number);
        break;
      case 'min':
      case 'max':
        // A grow-only set of candidate extremes; readers take its min or max.
        values[`:s${i}`] = { NS: [String(slot.value)] };
        break;
      case 'set':
        values[`:s${i}`] = { SS: slot.value as string[] };
        break;
    }
    adds.push(`#s${i} :s${i}`);
  });

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
    // A caller bug, not bad data: applyAggregate splits wider aggregates before they get here.
    if (write.marks.length > MAX_MARKS_PER_WRITE) throw new RangeError(`window ${write.pipeline}/${write.key}/${write.windowStart}: ${write.marks.length} offset marks in one write, over ${MAX_MARKS_PER_WRITE}`);
    try {
      await this.client.send(new UpdateItemCommand(buildWindowUpdate(write, this.options)));
      return { applied: true };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        return { applied: false, closed: err.Item?.[A.closedAt] !== undefined, marks: marksOf(err.Item) };
      }
      const where = `window ${write.pipeline}/${write.key}/${write.windowStart}`;
      if (isTransient(err)) throw new TransientStoreError(`${where}: ${(err as Error).name}`, { cause: err });
      if ((err as Error).name === 'ValidationException') throw new RejectedWriteError(`${where}: ${(err as Error).message}`, { cause: err });
      throw err;
    }
  }
}
