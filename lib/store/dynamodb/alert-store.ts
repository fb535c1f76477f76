/** AlertStore on DynamoDB: one record per alert id (conditional put), results upserted per window. */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Alert, AlertStore, SetAsideWindow, WindowResult } from '../../closer/ports.ts';
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

export class DynamoAlertStore implements AlertStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoAlertStoreOptions,
  ) {}

  private ttl(from: number): AttributeValue {
    return { N: String(Math.ceil((from + this.options.retentionMs) / 1000)) };
  }

  async putAlert(a: Alert): Promise<boolean> {
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
    try {
      await this.client.send(new PutItemCommand({ TableName: this.options.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async putResult(r: WindowResult): Promise<void> {
    const item: Record<string, AttributeValue> = {
      pk: { S: `result#${r.pipeline}#${r.key}` },
      sk: { S: String(r.windowStart).padStart(16, '0') },
      pipeline: { S: r.pipeline },
      windowKey: { S: r.key },
      windowStart: { N: String(r.windowStart) },
      windowEnd: { N: String(r.windowEnd) },
      features: featuresJson(r.features),
      evaluatedAt: { N: String(r.evaluatedAt) },
      ttl: this.ttl(r.evaluatedAt),
    };
    if (r.level) item.level = { S: r.level };
    await this.client.send(new PutItemCommand({ TableName: this.options.tableName, Item: item }));
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
  let features: Alert['features'];
  try {
    features = JSON.parse(str('features')) as Alert['features'];
  } catch (err) {
    if (err instanceof AlertRecordError) throw err;
    throw new AlertRecordError(`${where}: "features" is not JSON`, { cause: err });
  }
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
