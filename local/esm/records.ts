/**
 * Conversion of kafkajs messages into the records of a Lambda Kafka event, byte for byte in the
 * shape AWS delivers, and the sizing needed to respect the 6 MB invocation payload cap.
 */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { KafkaEvent, KafkaEventHeader, KafkaEventRecord } from '../../lib/codec/kafka-event.ts';

// kafkajs decodes the record batch's timestamp-type attribute into this (undeclared) field.
interface WithBatchContext {
  batchContext?: { timestampType?: number };
}

function timestampTypeOf(message: KafkaMessage): string {
  const type = (message as KafkaMessage & WithBatchContext).batchContext?.timestampType;
  return type === 1 ? 'LOG_APPEND_TIME' : 'CREATE_TIME';
}

/**
 * AWS sends headers as a list of single-key objects, one per header, so repeated names stay
 * repeated; kafkajs folds repeats into an array, which is unfolded here.
 */
export function toAwsHeaders(headers: IHeaders | undefined): KafkaEventHeader[] {
  const out: KafkaEventHeader[] = [];
  if (!headers) return out;
  for (const [name, raw] of Object.entries(headers)) {
    const values = Array.isArray(raw) ? raw : [raw];
    for (const value of values) {
      const bytes = value == null ? [] : Array.from(Buffer.isBuffer(value) ? value : Buffer.from(value));
      out.push({ [name]: bytes });
    }
  }
  return out;
}

/** One kafkajs message as the event record AWS would send; `key` is omitted for a null key. */
export function toAwsRecord(topic: string, partition: number, message: KafkaMessage): KafkaEventRecord {
  const offset = Number(message.offset);
  const timestamp = Number(message.timestamp);
  const timestampType = timestampTypeOf(message);
  const value = message.value == null ? null : message.value.toString('base64');
  const headers = toAwsHeaders(message.headers);
  // Property order follows AWS's own events, which keeps diffs against captured events readable.
  if (message.key == null) return { topic, partition, offset, timestamp, timestampType, value, headers };
  return { topic, partition, offset, timestamp, timestampType, key: message.key.toString('base64'), value, headers };
}

/** Bytes a record adds to the serialized event (its JSON plus the separating comma). */
export function recordPayloadBytes(record: KafkaEventRecord): number {
  return Buffer.byteLength(JSON.stringify(record)) + 1;
}

/** Bytes of an event carrying `partitionId` with no records yet. */
export function envelopePayloadBytes(envelope: Omit<KafkaEvent, 'records'>, partitionId: string): number {
  return Buffer.byteLength(JSON.stringify({ ...envelope, records: { [partitionId]: [] } }));
}
