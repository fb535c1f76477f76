/**
 * The event a Lambda Kafka event source mapping (Amazon MSK or self-managed) delivers, exactly as
 * AWS documents it, and its decoding into plain records.
 */

/** One header as AWS sends it: a single-key object whose value is the header's bytes. */
export type KafkaEventHeader = Record<string, number[]>;

/** One record of the event, as AWS sends it. */
export interface KafkaEventRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: string;
  /** Base64; absent or null when the Kafka key is null. */
  key?: string | null;
  /** Base64; null for a tombstone. */
  value: string | null;
  headers?: KafkaEventHeader[];
}

/** The whole event: records grouped under "<topic>-<partition>". */
export interface KafkaEvent {
  eventSource: 'aws:kafka' | 'SelfManagedKafka' | string;
  eventSourceArn?: string;
  bootstrapServers?: string;
  records: Record<string, KafkaEventRecord[]>;
}

/** A record after decoding: coordinates plus the raw value bytes, still unparsed. */
export interface DecodedRecord {
  topic: string;
  partition: number;
  offset: number;
  /** Broker or producer timestamp (epoch ms); not the event time. */
  kafkaTimestamp: number;
  key: string | undefined;
  value: Buffer | undefined;
  headers: Record<string, Buffer>;
  /** "<topic>-<partition>", the identifier ReportBatchItemFailures expects. */
  partitionId: string;
}

/** The answer a handler gives when some partitions must resume from an offset. */
export interface BatchItemFailuresResponse {
  batchItemFailures: { itemIdentifier: { partition: string; offset: number } }[];
}

/** "<topic>-<partition>": topic names may themselves contain dashes, the partition never does. */
export function partitionIdOf(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

function decodeHeaders(headers: KafkaEventHeader[] | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (!headers) return out;
  for (const header of headers) {
    for (const [name, bytes] of Object.entries(header)) out[name] = Buffer.from(bytes);
  }
  return out;
}

/**
 * Decodes every record of the event, keeping each partition's records in offset order.
 * Partitions come out in the order the event lists them.
 */
export function decodeKafkaEvent(event: KafkaEvent): DecodedRecord[][] {
  const partitions: DecodedRecord[][] = [];
  for (const records of Object.values(event.records ?? {})) {
    const decoded = records.map(decodeRecord);
    decoded.sort((a, b) => a.offset - b.offset);
    partitions.push(decoded);
  }
  return partitions;
}

function decodeRecord(record: KafkaEventRecord): DecodedRecord {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: Number(record.offset),
    kafkaTimestamp: record.timestamp,
    key: record.key == null ? undefined : Buffer.from(record.key, 'base64').toString('utf8'),
    value: record.value == null ? undefined : Buffer.from(record.value, 'base64'),
    headers: decodeHeaders(record.headers),
    partitionId: partitionIdOf(record.topic, record.partition),
  };
}
