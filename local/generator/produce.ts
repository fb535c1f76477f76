/**
 * Produces generated records to Kafka the way a real client would: kafkajs with acks=all and every
 * send awaited, so a record counts as produced only once the broker confirmed it.
 */
import { Kafka, Partitioners, logLevel, type Message, type PartitionerArgs } from 'kafkajs';
import type { GeneratedRecord } from './generate.ts';
import { partitionIdOf } from '../../lib/codec/partition-id.ts';
import { sleepUntil, takeDue } from './pace.ts';

/** Where the broker stored a record. */
export interface ProducedRecord {
  topic: string;
  partition: number;
  offset: number;
  /** Wall-clock ms when the request carrying the record was sent. */
  producedAt: number;
}

export interface ProduceOptions {
  /** Records per request; each request is awaited before the next (default 500). */
  batchSize?: number;
  /** Called after each confirmed request with the number of records produced so far. */
  onProgress?: (produced: number) => void;
  /** kafkajs client id (default "streamguard-generator"). */
  clientId?: string;
  /**
   * Let the broker auto-create missing topics (default false: MSK clusters usually disable it, and
   * a missing topic should fail loudly rather than appear with the wrong partition count).
   */
  allowAutoTopicCreation?: boolean;
  /**
   * Real time: the wall-clock ms at which each record is due (local/generator/pace.ts). Each request
   * then waits for its first record and carries those due by then. Absent: as fast as acks come.
   */
  dueAt?: readonly number[];
}

/**
 * Produces `records` in order to the Kafka cluster at `brokers` and returns, for each record at
 * the same index, the partition and offset the broker assigned.
 *
 * Keyed records go to the partition of kafkajs's DefaultPartitioner (murmur2, as the Java client);
 * null-key records are spread round-robin; a record that names a partition (`partition`, an index
 * taken modulo the topic's partition count) goes there. Requests use acks=-1 and are awaited one at a time, so
 * records of one partition get increasing offsets in production order. The producer is not
 * idempotent because librdkafka's mock cluster (the local broker) does not support it.
 *
 * @throws the kafkajs error when a request fails after its retries; records before it were
 *   produced, later ones were not.
 */
export async function produceRecords(brokers: string[], records: readonly GeneratedRecord[], opts: ProduceOptions = {}): Promise<ProducedRecord[]> {
  const batchSize = opts.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);

  const kafka = new Kafka({ clientId: opts.clientId ?? 'streamguard-generator', brokers, logLevel: logLevel.ERROR });
  // Records that name their partition (GeneratedRecord.partition): an index into the topic's
  // partitions, resolved against the partition count the partitioner is told.
  const wanted = new WeakMap<Message, number>();
  const producer = kafka.producer({
    idempotent: false,
    allowAutoTopicCreation: opts.allowAutoTopicCreation ?? false,
    // Each message's partition is fixed on first assignment so that a retried request cannot move a
    // null-key message to another partition, and so that its offset can be read back afterwards.
    createPartitioner: () => {
      const choose = Partitioners.DefaultPartitioner();
      return (args: PartitionerArgs) => {
        const index = wanted.get(args.message);
        if (index !== undefined && args.message.partition === undefined) {
          const ids = args.partitionMetadata.map((p) => p.partitionId).sort((a, b) => a - b);
          args.message.partition = ids[index % ids.length];
        }
        return (args.message.partition ??= choose(args));
      };
    },
  });

  const dueAt = opts.dueAt;
  if (dueAt && dueAt.length !== records.length) throw new RangeError(`dueAt has ${dueAt.length} times for ${records.length} records`);

  const produced: ProducedRecord[] = new Array(records.length);
  await producer.connect();
  try {
    for (let from = 0, to: number; from < records.length; from = to) {
      to = Math.min(records.length, from + batchSize);
      if (dueAt) {
        await sleepUntil(dueAt[from]!);
        to = Math.max(from + 1, takeDue(dueAt, from, Date.now(), batchSize));
      }
      const batch = records.slice(from, to);
      const sentAt = Date.now();
      const byTopic = new Map<string, { message: Message; index: number }[]>();
      batch.forEach((r, k) => {
        let list = byTopic.get(r.topic);
        if (!list) byTopic.set(r.topic, (list = []));
        const message: Message = { key: r.key, value: r.value };
        // kafkajs sends this as the record's CreateTime; without it, the producer's clock.
        if (r.timestamp !== undefined) message.timestamp = String(r.timestamp);
        if (r.partition !== undefined) wanted.set(message, r.partition);
        list.push({ message, index: from + k });
      });

      const metadata = await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, list]) => ({ topic, messages: list.map((m) => m.message) })),
      });

      const baseOffsets = new Map<string, number>();
      for (const m of metadata) {
        if (m.errorCode !== 0 || m.baseOffset === undefined) {
          throw new Error(`produce to ${partitionIdOf(m.topicName, m.partition)} failed with error code ${m.errorCode}`);
        }
        baseOffsets.set(`${m.topicName}\u0000${m.partition}`, Number(m.baseOffset));
      }
      // kafkajs appends a request's messages to each partition in the order given, so a message's
      // offset is the partition's base offset plus its position among that partition's messages.
      const position = new Map<string, number>();
      for (const [topic, list] of byTopic) {
        for (const { message, index } of list) {
          const partition = message.partition;
          const tp = `${topic}\u0000${partition}`;
          const base = baseOffsets.get(tp);
          if (partition === undefined || base === undefined) throw new Error(`no delivery report for a message to ${topic}-${partition}`);
          const k = position.get(tp) ?? 0;
          position.set(tp, k + 1);
          produced[index] = { topic, partition, offset: base + k, producedAt: sentAt };
        }
      }
      opts.onProgress?.(from + batch.length);
    }
  } finally {
    await producer.disconnect();
  }
  return produced;
}
