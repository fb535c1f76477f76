/**
 * SequenceStateStore on the state table (docs/design.md, "Sequence rules"): one item per
 * (topic, key field, key), pk "seq#<topic>#<keyField>#<key>", sk "state", the state as compact
 * JSON in `body`, `version` for the compare-and-set, `ttl` (epoch seconds) so a key that goes
 * quiet is forgotten once nothing in its state can serve a later event.
 */
import { BatchGetItemCommand, ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MAX_READ_MANY, type SequenceStateKey, type SequenceStateStore, type StoredSequenceState } from '../../sequences/ports.ts';
import { emptyKeyState, type KeyState } from '../../sequences/state.ts';
import { isTransient, RejectedWriteError, TransientStoreError } from '../errors.ts';
import { SEQUENCE_PK_PREFIX, SEQUENCE_SK, sequencePk } from '../tables.ts';

export { SEQUENCE_PK_PREFIX, SEQUENCE_SK, sequencePk };

function wrap(what: string, err: unknown): never {
  if (isTransient(err)) throw new TransientStoreError(`sequence state: ${what}: ${(err as Error).name}`, { cause: err });
  if (err instanceof Error && err.name === 'ValidationException') throw new RejectedWriteError(`sequence state: ${what}: ${err.message}`, { cause: err });
  throw err;
}

/** A stored item's state, or the empty state at version 0 when there is none. */
function storedOf(item: Record<string, AttributeValue> | undefined): StoredSequenceState {
  if (!item?.body?.S) return { state: emptyKeyState(), version: 0 };
  return { state: JSON.parse(item.body.S) as KeyState, version: Number(item.version?.N ?? 0) };
}

export interface DynamoSequenceStoreOptions {
  /** BatchGetItem requests per readMany chunk, the first included, before its unprocessed keys are given up as transient (default 5). */
  maxReadRounds?: number;
  /** Waits between those rounds (tests shorten it). */
  sleep?: (ms: number) => Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DynamoSequenceStore implements SequenceStateStore {
  private readonly maxReadRounds: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoSequenceStoreOptions = {},
  ) {
    this.maxReadRounds = options.maxReadRounds ?? 5;
    this.sleep = options.sleep ?? sleep;
  }

  async read(key: SequenceStateKey): Promise<StoredSequenceState> {
    let out;
    try {
      out = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: sequencePk(key) }, sk: { S: SEQUENCE_SK } }, ConsistentRead: true, ProjectionExpression: 'body, version' }),
      );
    } catch (err) {
      wrap(`read ${key.key}`, err);
    }
    return storedOf(out.Item);
  }

  /**
   * One BatchGetItem for up to 100 keys, strongly consistent. DynamoDB may leave some keys
   * unprocessed (throttling, or the 16 MB answer limit): those are asked again with a growing
   * pause, up to `maxReadRounds` requests in all, then TransientStoreError (the caller resumes
   * the keys' partitions, as for a throttled GetItem).
   */
  async readMany(keys: readonly SequenceStateKey[]): Promise<StoredSequenceState[]> {
    if (keys.length > MAX_READ_MANY) throw new RangeError(`sequence state: readMany takes at most ${MAX_READ_MANY} keys, got ${keys.length}`);
    const pks = keys.map(sequencePk);
    // BatchGetItem refuses a key named twice.
    let pending: Record<string, AttributeValue>[] | undefined = [...new Set(pks)].map((pk) => ({ pk: { S: pk }, sk: { S: SEQUENCE_SK } }));
    const found = new Map<string, Record<string, AttributeValue>>();
    for (let round = 0; pending && pending.length > 0; round++) {
      if (round >= this.maxReadRounds) throw new TransientStoreError(`sequence state: ${pending.length} of ${keys.length} keys still unread after ${this.maxReadRounds} BatchGetItem requests`);
      if (round > 0) await this.sleep(Math.min(1_000, 25 * 2 ** round));
      let out;
      try {
        out = await this.client.send(
          new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true, ProjectionExpression: 'pk, body, version' } } }),
        );
      } catch (err) {
        wrap(`read ${pending.length} keys`, err);
      }
      for (const item of out.Responses?.[this.tableName] ?? []) if (item.pk?.S) found.set(item.pk.S, item);
      pending = out.UnprocessedKeys?.[this.tableName]?.Keys;
    }
    // Absent from the answers and not left unprocessed: the key has no item. Parsed per key named,
    // so a key named twice does not share one mutable state between its callers.
    return pks.map((pk) => storedOf(found.get(pk)));
  }

  async write(key: SequenceStateKey, state: KeyState, expected: number, expiresAt: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: sequencePk(key) },
            sk: { S: SEQUENCE_SK },
            topic: { S: key.topic },
            keyField: { S: key.keyField },
            seqKey: { S: key.key },
            body: { S: JSON.stringify(state) },
            version: { N: String(expected + 1) },
            ttl: { N: String(Math.ceil(expiresAt / 1000)) },
          },
          ConditionExpression: expected === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
          ...(expected === 0 ? {} : { ExpressionAttributeValues: { ':v': { N: String(expected) } } }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      wrap(`write ${key.key}`, err);
    }
  }
}
