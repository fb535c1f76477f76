/** WatermarkStore on DynamoDB: one item per topic partition, raised with a conditional write. */
import { BatchGetItemCommand, type BatchGetItemCommandOutput, ConditionalCheckFailedException, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isTransient, TransientStoreError } from '../errors.ts';
import type { PartitionMark, PartitionWatermark, WatermarkStore } from '../ports.ts';
import { partitionIdOf } from '../../codec/partition-id.ts';

export const WATERMARK_PK_PREFIX = 'watermark#';

/** BatchGetItem reads at most 100 items per request (DynamoDB API reference, BatchGetItem). */
export const BATCH_GET_MAX_KEYS = 100;

export class DynamoWatermarkStore implements WatermarkStore {
  /** Warm-container memory of what was last written, to skip writes that could not raise anything. */
  private readonly known = new Map<string, number>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async read(partitions: readonly { topic: string; partition: number }[]): Promise<Map<string, PartitionMark>> {
    const marks = new Map<string, PartitionMark>();
    // BatchGetItem refuses duplicate keys and more than 100 keys ("Too many items requested"), and a
    // batch of a topic with hundreds of partitions names more: read in chunks of 100.
    const unique = new Map(partitions.map((p) => [partitionIdOf(p.topic, p.partition), p]));
    const keys = [...unique.values()].map((p) => ({ pk: { S: WATERMARK_PK_PREFIX + p.topic }, sk: { S: String(p.partition) } }));
    for (let i = 0; i < keys.length; i += BATCH_GET_MAX_KEYS) await this.readChunk(keys.slice(i, i + BATCH_GET_MAX_KEYS), marks);
    return marks;
  }

  /** One BatchGetItem, re-asked for its UnprocessedKeys with backoff until none are left. */
  private async readChunk(chunk: Record<string, AttributeValue>[], marks: Map<string, PartitionMark>): Promise<void> {
    let keys: Record<string, AttributeValue>[] | undefined = chunk;
    for (let attempt = 0; keys && keys.length > 0; attempt++) {
      if (attempt > 8) throw new TransientStoreError(`watermark read: ${keys.length} keys left unprocessed`);
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1_000, 25 * 2 ** attempt)));
      try {
        const out: BatchGetItemCommandOutput = await this.client.send(
          new BatchGetItemCommand({
            // Strongly consistent: the previous batch of the partition may have raised it a moment ago.
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true, ProjectionExpression: 'topic, #p, maxEventTime, lastOffset', ExpressionAttributeNames: { '#p': 'partition' } } },
          }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) {
          marks.set(partitionIdOf(item.topic!.S!, Number(item.partition!.N)), { maxEventTime: Number(item.maxEventTime!.N), lastOffset: Number(item.lastOffset!.N) });
        }
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys;
      } catch (err) {
        if (isTransient(err)) throw new TransientStoreError(`watermark read: ${(err as Error).name}`, { cause: err });
        throw err;
      }
    }
  }

  async advance(p: PartitionWatermark): Promise<void> {
    const id = partitionIdOf(p.topic, p.partition);
    const known = this.known.get(id);
    if (known !== undefined && known >= p.maxEventTime) return;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: WATERMARK_PK_PREFIX + p.topic }, sk: { S: String(p.partition) } },
          // advancedAt is wall-clock time of the last raise: the closer's idle timeout reads it.
          UpdateExpression: 'SET maxEventTime = :t, lastOffset = :o, advancedAt = :now, topic = :topic, #p = :p',
          ConditionExpression: 'attribute_not_exists(maxEventTime) OR maxEventTime < :t',
          ExpressionAttributeNames: { '#p': 'partition' },
          ExpressionAttributeValues: {
            ':t': { N: String(p.maxEventTime) },
            ':o': { N: String(p.lastOffset) },
            ':now': { N: String(this.now()) },
            ':topic': { S: p.topic },
            ':p': { N: String(p.partition) },
          },
        }),
      );
      this.known.set(id, p.maxEventTime);
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        // Someone already holds a later time; remember ours as a floor to avoid retrying it.
        this.known.set(id, Math.max(known ?? -Infinity, p.maxEventTime));
        return;
      }
      if (isTransient(err)) throw new TransientStoreError(`watermark ${id}: ${(err as Error).name}`, { cause: err });
      throw err;
    }
  }
}
