/** WatermarkStore on DynamoDB: one item per topic partition, raised with a conditional write. */
import { ConditionalCheckFailedException, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isTransient, TransientStoreError } from '../errors.ts';
import type { PartitionWatermark, WatermarkStore } from '../ports.ts';

export const WATERMARK_PK_PREFIX = 'watermark#';

export class DynamoWatermarkStore implements WatermarkStore {
  /** Warm-container memory of what was last written, to skip writes that could not raise anything. */
  private readonly known = new Map<string, number>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async advance(p: PartitionWatermark): Promise<void> {
    const id = `${p.topic}-${p.partition}`;
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
