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
 *
 * Keys, values and headers are decoded when read (from the event, which must not change meanwhile):
 * the ingest path reads each value once through `valueBytes`, and keeps no Buffer per record.
 */
export function decodeKafkaEvent(event: KafkaEvent): DecodedRecord[][] {
  const partitions: DecodedRecord[][] = [];
  for (const records of Object.values(event.records ?? {})) {
    const decoded: LazyRecord[] = [];
    let sorted = true;
    let previous: LazyRecord | undefined;
    for (const record of records) {
      // Records of one entry share a partition: its id is built once, not per record.
      const partitionId =
        previous !== undefined && previous.topic === record.topic && previous.partition === record.partition
          ? previous.partitionId
          : partitionIdOf(record.topic, record.partition);
      const next = new LazyRecord(record, partitionId);
      if (previous !== undefined && next.offset < previous.offset) sorted = false;
      decoded.push(next);
      previous = next;
    }
    if (!sorted) decoded.sort((a, b) => a.offset - b.offset);
    partitions.push(decoded);
  }
  return partitions;
}

/**
 * A record's value bytes, decoded afresh when not already held (nothing is cached on the record):
 * for a single pass over every value that should not keep a Buffer per record alive.
 */
export function valueBytes(record: DecodedRecord): Buffer | undefined {
  return record instanceof LazyRecord ? record.peekValue() : record.value;
}

/**
 * Reads values one at a time through one reused buffer: `read` decodes a record's value (base64 as
 * Buffer.from decodes it, byte for byte) and `text` returns it as UTF-8 text, allocating no Buffer
 * per record. For a single synchronous pass; the text must be taken before the next `read`.
 */
export class ValueReader {
  private scratch: Buffer;
  private current: Buffer | undefined = undefined;
  private length = 0;

  constructor(capacity = 64 * 1024) {
    this.scratch = Buffer.allocUnsafe(capacity);
  }

  /** Decodes the record's value; returns its size in bytes, or -1 when it has none (a tombstone). */
  read(record: DecodedRecord): number {
    let value: Buffer | undefined;
    if (record instanceof LazyRecord) {
      const encoded = record.encodedValue();
      if (typeof encoded === 'string') {
        // byteLength is what Buffer.from allocates for it: never less than what decoding writes.
        if (Buffer.byteLength(encoded, 'base64') <= this.scratch.length) {
          this.current = this.scratch;
          return (this.length = this.scratch.write(encoded, 0, 'base64'));
        }
        value = Buffer.from(encoded, 'base64');
      } else {
        value = encoded;
      }
    } else {
      value = record.value;
    }
    if (value === undefined) return -1;
    this.current = value;
    return (this.length = value.length);
  }

  /** The value last read, as UTF-8 text. */
  text(): string {
    return this.current!.toString('utf8', 0, this.length);
  }
}

/** A decoded record that reads its coordinates from the event's record and decodes bytes on demand. */
class LazyRecord implements DecodedRecord {
  readonly offset: number;
  private decodedValue: Buffer | undefined = undefined;
  private decodedHeaders: Record<string, Buffer> | undefined = undefined;

  constructor(
    private readonly source: KafkaEventRecord,
    readonly partitionId: string,
  ) {
    this.offset = Number(source.offset);
  }

  get topic(): string {
    return this.source.topic;
  }

  get partition(): number {
    return this.source.partition;
  }

  get kafkaTimestamp(): number {
    return this.source.timestamp;
  }

  get key(): string | undefined {
    const key = this.source.key;
    return key == null ? undefined : Buffer.from(key, 'base64').toString('utf8');
  }

  get value(): Buffer | undefined {
    return (this.decodedValue ??= this.peekValue());
  }

  get headers(): Record<string, Buffer> {
    return (this.decodedHeaders ??= decodeHeaders(this.source.headers));
  }

  /** The value if already decoded, else its base64 text as the event holds it (undefined: no value). */
  encodedValue(): Buffer | string | undefined {
    if (this.decodedValue !== undefined) return this.decodedValue;
    const value = this.source.value;
    return value == null ? undefined : value;
  }

  /** The value, decoded now unless already held. */
  peekValue(): Buffer | undefined {
    if (this.decodedValue !== undefined) return this.decodedValue;
    const value = this.source.value;
    return value == null ? undefined : Buffer.from(value, 'base64');
  }
}
