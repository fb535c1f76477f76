/** Building Lambda Kafka events in AWS's exact shape: for tests, samples, `invoke` and benchmarks. */
import { partitionIdOf, type KafkaEvent, type KafkaEventRecord } from './kafka-event.ts';

export interface RecordInput {
  topic: string;
  partition: number;
  offset: number;
  /** An object is JSON-encoded; a string or Buffer is sent as is. */
  value: unknown;
  key?: string | null;
  headers?: Record<string, string>;
  /** Kafka record timestamp (epoch ms); absent: none, sent as Kafka does (-1, NO_TIMESTAMP_TYPE). */
  timestamp?: number;
}

export function encodeRecord(input: RecordInput): KafkaEventRecord {
  const bytes = Buffer.isBuffer(input.value)
    ? input.value
    : Buffer.from(typeof input.value === 'string' ? input.value : JSON.stringify(input.value), 'utf8');
  const record: KafkaEventRecord = {
    topic: input.topic,
    partition: input.partition,
    offset: input.offset,
    timestamp: input.timestamp ?? -1,
    timestampType: input.timestamp === undefined ? 'NO_TIMESTAMP_TYPE' : 'CREATE_TIME',
    value: bytes.toString('base64'),
    headers: Object.entries(input.headers ?? {}).map(([name, v]) => ({ [name]: [...Buffer.from(v, 'utf8')] })),
  };
  if (input.key != null) record.key = Buffer.from(input.key, 'utf8').toString('base64');
  return record;
}

/** Groups records under "<topic>-<partition>" as the event source mapping does. */
export function encodeKafkaEvent(records: RecordInput[], source: 'aws:kafka' | 'SelfManagedKafka' = 'aws:kafka'): KafkaEvent {
  const grouped: Record<string, KafkaEventRecord[]> = {};
  for (const r of records) (grouped[partitionIdOf(r.topic, r.partition)] ??= []).push(encodeRecord(r));
  const event: KafkaEvent = { eventSource: source, bootstrapServers: 'localhost:9092', records: grouped };
  if (source === 'aws:kafka') event.eventSourceArn = 'arn:aws:kafka:us-east-1:123456789012:cluster/streamguard/abcd1234-0000-0000-0000-000000000000-1';
  return event;
}
