/**
 * SequenceStateStore on the state table (docs/design.md, "Sequence rules"): one item per
 * (topic, key field, key), pk "seq#<topic>#<keyField>#<key>", sk "state", the state as compact
 * JSON in `body`, `version` for the compare-and-set, `ttl` (epoch seconds) so a key that goes
 * quiet is forgotten once nothing in its state can serve a later event.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SequenceStateKey, SequenceStateStore, StoredSequenceState } from '../../sequences/ports.ts';
import { emptyKeyState, type KeyState } from '../../sequences/state.ts';
import { isTransient, RejectedWriteError, TransientStoreError } from '../errors.ts';
import { SEQUENCE_PK_PREFIX, SEQUENCE_SK, sequencePk } from '../tables.ts';

export { SEQUENCE_PK_PREFIX, SEQUENCE_SK, sequencePk };

function wrap(what: string, err: unknown): never {
  if (isTransient(err)) throw new TransientStoreError(`sequence state: ${what}: ${(err as Error).name}`, { cause: err });
  if (err instanceof Error && err.name === 'ValidationException') throw new RejectedWriteError(`sequence state: ${what}: ${err.message}`, { cause: err });
  throw err;
}

export class DynamoSequenceStore implements SequenceStateStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async read(key: SequenceStateKey): Promise<StoredSequenceState> {
    let out;
    try {
      out = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: sequencePk(key) }, sk: { S: SEQUENCE_SK } }, ConsistentRead: true, ProjectionExpression: 'body, version' }),
      );
    } catch (err) {
      wrap(`read ${key.key}`, err);
    }
    const item = out.Item;
    if (!item?.body?.S) return { state: emptyKeyState(), version: 0 };
    return { state: JSON.parse(item.body.S) as KeyState, version: Number(item.version?.N ?? 0) };
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
