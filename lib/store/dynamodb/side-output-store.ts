/** SideOutputStore on DynamoDB: quarantined and late records, batched 25 to a request. */
import { BatchWriteItemCommand, type AttributeValue, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { SideRecord } from '../../ingest/quarantine.ts';
import { isTransient, TransientStoreError } from '../errors.ts';
import type { SideOutputStore } from '../ports.ts';
import { partitionIdOf } from '../../codec/partition-id.ts';

export interface DynamoSideOutputOptions {
  tableName: string;
  retentionMs: number;
  /** Rounds of re-sending unprocessed items before giving up as transient. */
  maxRounds?: number;
}

/** Offsets zero-padded so a partition's records sort in offset order. */
export function sideOutputKey(r: Pick<SideRecord, 'kind' | 'topic' | 'partition' | 'offset' | 'pipeline'>): { pk: string; sk: string } {
  const offset = String(r.offset).padStart(20, '0');
  return { pk: `${r.kind}#${partitionIdOf(r.topic, r.partition)}`, sk: r.pipeline ? `${offset}#${r.pipeline}` : offset };
}

function toItem(r: SideRecord, now: number, retentionMs: number): Record<string, AttributeValue> {
  const { pk, sk } = sideOutputKey(r);
  const item: Record<string, AttributeValue> = {
    pk: { S: pk },
    sk: { S: sk },
    kind: { S: r.kind },
    topic: { S: r.topic },
    partition: { N: String(r.partition) },
    offset: { N: String(r.offset) },
    reason: { S: r.reason },
    size: { N: String(r.size) },
    sha256: { S: r.sha256 },
    at: { N: String(now) },
    ttl: { N: String(Math.ceil((now + retentionMs) / 1000)) },
  };
  if (r.sample) item.sample = { S: r.sample };
  if (r.field) item.field = { S: r.field };
  if (r.pipeline) item.pipeline = { S: r.pipeline };
  if (r.key) item.windowKey = { S: r.key };
  if (r.windowStart !== undefined) item.windowStart = { N: String(r.windowStart) };
  return item;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class DynamoSideOutputStore implements SideOutputStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoSideOutputOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async put(records: SideRecord[]): Promise<void> {
    const now = this.now();
    // A batch must not name one key twice (a redelivered duplicate in one event would).
    const unique = new Map<string, WriteRequest>();
    for (const r of records) {
      const { pk, sk } = sideOutputKey(r);
      unique.set(`${pk}\u0000${sk}`, { PutRequest: { Item: toItem(r, now, this.options.retentionMs) } });
    }
    const requests = [...unique.values()];
    for (let i = 0; i < requests.length; i += 25) await this.writeChunk(requests.slice(i, i + 25));
  }

  private async writeChunk(chunk: WriteRequest[]): Promise<void> {
    let pending = chunk;
    const rounds = this.options.maxRounds ?? 5;
    for (let round = 0; pending.length > 0; round++) {
      if (round >= rounds) throw new TransientStoreError(`side output: ${pending.length} records still unprocessed after ${rounds} rounds`);
      if (round > 0) await sleep(25 * 2 ** round);
      try {
        const out = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.options.tableName]: pending } }));
        pending = out.UnprocessedItems?.[this.options.tableName] ?? [];
      } catch (err) {
        if (isTransient(err)) throw new TransientStoreError(`side output: ${(err as Error).name}`, { cause: err });
        throw err;
      }
    }
  }
}
