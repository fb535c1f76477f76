/** AlertStore on DynamoDB: one record per alert id (conditional put), set-aside windows upserted. */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, PutItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Alert, AlertStore, EarlyAlert, MatchedStep, SequenceAlert, SetAsideWindow, StoredAlert } from '../../closer/ports.ts';
import { AlertRecordError } from '../../dispatcher/dispatch-alerts.ts';
import type { StreamImage } from '../../dispatcher/stream-event.ts';

export interface DynamoAlertStoreOptions {
  tableName: string;
  retentionMs: number;
}

const featuresJson = (f: Alert['features']): AttributeValue => ({ S: JSON.stringify(f) });

/** Reasons are error messages, kept to a size an operator reads (and far below the item limit). */
const MAX_REASON_CHARS = 2_000;

/**
 * Where a set-aside window's record lives: one partition per pipeline, so an operator lists them
 * with one Query (pk = "aside#<pipeline>"), oldest window first. A key too long for the 1 KB sort
 * key limit is replaced by its hash there (the record still carries it in full).
 */
export function setAsideKey(r: Pick<SetAsideWindow, 'pipeline' | 'key' | 'windowStart'>): { pk: string; sk: string } {
  const key = Buffer.byteLength(r.key) <= 900 ? r.key : `sha256:${createHash('sha256').update(r.key).digest('hex')}`;
  return { pk: `aside#${r.pipeline}`, sk: `${String(r.windowStart).padStart(16, '0')}#${key}` };
}

/**
 * Reads an alert record back with what it says of its timing (verify, tests, tools): the Alert
 * the dispatcher sends (alertFromItem) plus `timing`, and `firedAt`, `firedBy`, `finalFeatures`,
 * `closedAt` when present.
 * @throws AlertRecordError naming the record and the attribute it lacks or holds wrongly.
 */
export function storedAlertOf(item: StreamImage): StoredAlert {
  const alert: StoredAlert = {
    ...alertFromItem(item),
    // Records written before early alerts existed were all raised at close.
    timing: item.timing?.S === 'early' ? 'early' : 'close',
  };
  if (alert.level === undefined) delete alert.level;
  if (item.firedAt?.N !== undefined) alert.firedAt = Number(item.firedAt.N);
  const by = item.firedBy?.M as StreamImage | undefined;
  if (by?.partitionId?.S !== undefined && by.offset?.N !== undefined) alert.firedBy = { partitionId: by.partitionId.S, offset: Number(by.offset.N) };
  if (item.finalFeatures?.S !== undefined) alert.finalFeatures = jsonAttribute(item, 'finalFeatures');
  if (item.closedAt?.N !== undefined) alert.closedAt = Number(item.closedAt.N);
  if (item.topic?.S !== undefined) alert.topic = item.topic.S;
  if (item.matched?.S !== undefined) alert.matched = jsonAttribute(item, 'matched') as unknown as MatchedStep[];
  return alert;
}

export class DynamoAlertStore implements AlertStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoAlertStoreOptions,
  ) {}

  private ttl(from: number): AttributeValue {
    return { N: String(Math.ceil((from + this.options.retentionMs) / 1000)) };
  }

  /** The attributes every alert record has, whoever raised it. */
  private alertItem(a: Alert): Record<string, AttributeValue> {
    const item: Record<string, AttributeValue> = {
      pk: { S: `alert#${a.id}` },
      sk: { S: 'alert' },
      id: { S: a.id },
      pipeline: { S: a.pipeline },
      rule: { S: a.rule },
      alertType: { S: a.alertType },
      windowKey: { S: a.key },
      windowStart: { N: String(a.windowStart) },
      windowEnd: { N: String(a.windowEnd) },
      features: featuresJson(a.features),
      raisedAt: { N: String(a.raisedAt) },
      ttl: this.ttl(a.raisedAt),
    };
    if (a.level) item.level = { S: a.level };
    return item;
  }

  /**
   * One UpdateItem: every attribute if_not_exists, so an early record keeps its firing features and
   * time and gains only `finalFeatures`, `closedAt` (and a level it lacked); a new record is timing
   * 'close'. ALL_OLD says whether a close was recorded before, without a read. A record of another
   * window of the alert's group (same id, other windowStart) is left alone: false.
   */
  async putAlert(a: Alert): Promise<boolean> {
    const item = this.alertItem(a);
    const { pk, sk, ...rest } = item;
    const attributes: Record<string, AttributeValue> = { ...rest, timing: { S: 'close' }, finalFeatures: featuresJson(a.features), closedAt: { N: String(a.raisedAt) } };
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    const sets = Object.entries(attributes).map(([name, value], i) => {
      names[`#a${i}`] = name;
      values[`:a${i}`] = value;
      return `#a${i} = if_not_exists(#a${i}, :a${i})`;
    });
    names['#ws'] = 'windowStart';
    values[':ws'] = { N: String(a.windowStart) };
    let answer;
    try {
      answer = await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: { pk: pk!, sk: sk! },
          UpdateExpression: `SET ${sets.join(', ')}`,
          // One record per group: a record another window of the group raised is that window's to complete.
          ConditionExpression: 'attribute_not_exists(pk) OR #ws = :ws',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_OLD',
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
    // The close is new unless the record had final features already (a repeated run).
    return answer.Attributes?.finalFeatures === undefined;
  }

  async putEarlyAlert(a: EarlyAlert): Promise<boolean> {
    return this.putOnce(this.earlyItem(a));
  }

  /** A sequence alert: an early alert's record plus `topic` and `matched` (the chain, as JSON like `features`). */
  async putSequenceAlert(a: SequenceAlert): Promise<boolean> {
    return this.putOnce({ ...this.earlyItem(a), topic: { S: a.topic }, matched: { S: JSON.stringify(a.matched) } });
  }

  private earlyItem(a: EarlyAlert): Record<string, AttributeValue> {
    return {
      ...this.alertItem(a),
      timing: { S: 'early' },
      firedAt: { N: String(a.firedAt) },
      firedBy: { M: { partitionId: { S: a.firedBy.partitionId }, offset: { N: String(a.firedBy.offset) } } },
    };
  }

  private async putOnce(item: Record<string, AttributeValue>): Promise<boolean> {
    try {
      await this.client.send(new PutItemCommand({ TableName: this.options.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async putSetAside(r: SetAsideWindow): Promise<void> {
    const { pk, sk } = setAsideKey(r);
    const item: Record<string, AttributeValue> = {
      pk: { S: pk },
      sk: { S: sk },
      pipeline: { S: r.pipeline },
      windowKey: { S: r.key },
      windowStart: { N: String(r.windowStart) },
      windowEnd: { N: String(r.windowEnd) },
      reason: { S: r.reason.length > MAX_REASON_CHARS ? `${r.reason.slice(0, MAX_REASON_CHARS)}...` : r.reason },
      setAsideAt: { N: String(r.at) },
      ttl: this.ttl(r.at),
    };
    await this.client.send(new PutItemCommand({ TableName: this.options.tableName, Item: item }));
  }
}

/**
 * An alert item (as putAlert writes it, read here from a stream's NEW_IMAGE) back as the Alert it
 * records: the dispatcher sends exactly what the record holds.
 *
 * @throws AlertRecordError naming the record and the field that is missing or of the wrong type.
 */
export function alertFromItem(item: StreamImage): Alert {
  const where = `alert record ${String(item.pk?.S ?? '(no pk)')}`;
  const str = (name: string): string => {
    const v = item[name]?.S;
    if (typeof v !== 'string') throw new AlertRecordError(`${where}: "${name}" must be a string attribute (S)`);
    return v;
  };
  const num = (name: string): number => {
    const v = Number(item[name]?.N);
    if (typeof item[name]?.N !== 'string' || !Number.isFinite(v)) throw new AlertRecordError(`${where}: "${name}" must be a number attribute (N)`);
    return v;
  };
  const features = jsonAttribute(item, 'features');
  const level = item.level?.S;
  return {
    id: str('id'),
    pipeline: str('pipeline'),
    rule: str('rule'),
    alertType: str('alertType'),
    level: typeof level === 'string' ? level : undefined,
    key: str('windowKey'),
    windowStart: num('windowStart'),
    windowEnd: num('windowEnd'),
    features,
    raisedAt: num('raisedAt'),
  };
}

/** A JSON-encoded string attribute (features) of an alert record, parsed. */
function jsonAttribute(item: StreamImage, name: string): Alert['features'] {
  const where = `alert record ${String(item.pk?.S ?? '(no pk)')}`;
  const text = item[name]?.S;
  if (typeof text !== 'string') throw new AlertRecordError(`${where}: "${name}" must be a string attribute (S)`);
  try {
    return JSON.parse(text) as Alert['features'];
  } catch (err) {
    throw new AlertRecordError(`${where}: "${name}" is not JSON`, { cause: err });
  }
}
