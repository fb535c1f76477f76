/**
 * The event a Lambda Kafka event source mapping (Amazon MSK or self-managed) delivers, exactly as
 * AWS documents it, and its decoding into plain records.
 */
import { isUtf8 } from 'node:buffer';
import { partitionIdOf } from './partition-id.ts';

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
  /**
   * Broker or producer timestamp (epoch ms); not the event time. -1 when the record has none
   * (Kafka's NO_TIMESTAMP_TYPE) or the event carries something that is not a usable time.
   */
  kafkaTimestamp: number;
  key: string | undefined;
  value: Buffer | undefined;
  headers: Record<string, Buffer>;
  /** "<topic>-<partition>", the identifier ReportBatchItemFailures expects. */
  partitionId: string;
  /** Why the event's record itself cannot be read (e.g. a value that is not a string): quarantine it with this reason. */
  envelopeError?: string;
}

/**
 * A decoded event: records by partition, and the records that cannot be placed in any partition's
 * offset order (a partition or offset that is not a number, a record that is not an object). Those
 * carry what coordinates they have: the topic and partition of their record-map key where theirs
 * are unusable, and offset -(n + 1) for the n-th record of its entry when its offset is.
 */
export interface DecodedEvent {
  partitions: DecodedRecord[][];
  unplaceable: DecodedRecord[];
}

/** The answer a handler gives when some partitions must resume from an offset. */
export interface BatchItemFailuresResponse {
  batchItemFailures: { itemIdentifier: { partition: string; offset: number } }[];
}

export { partitionIdOf } from './partition-id.ts';

/** Headers as AWS sends them; anything else (not a list, not bytes) is left out rather than thrown on. */
function decodeHeaders(headers: KafkaEventHeader[] | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (!Array.isArray(headers)) return out;
  for (const header of headers) {
    if (header === null || typeof header !== 'object') continue;
    for (const [name, bytes] of Object.entries(header)) {
      if (Array.isArray(bytes) && bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) out[name] = Buffer.from(bytes);
    }
  }
  return out;
}

/** Epoch ms a JavaScript Date can hold (TimeClip). */
const MAX_DATE_MS = 8.64e15;

/** A record's Kafka timestamp as a time, or -1 when it has none (Kafka sends -1) or it is not one. */
function timestampOf(raw: unknown): number {
  return typeof raw === 'number' && raw >= 0 && raw <= MAX_DATE_MS ? raw : -1;
}

/** A partition or offset: a non-negative safe integer (a string of digits is read as one), else undefined. */
function coordinateOf(raw: unknown): number | undefined {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** The topic and partition a record-map key "<topic>-<partition>" names, as far as it names them. */
function keyCoordinates(mapKey: string): { topic: string; partition: number } {
  const m = /^(.+)-(\d{1,9})$/.exec(mapKey);
  return m ? { topic: m[1]!, partition: Number(m[2]) } : { topic: mapKey, partition: -1 };
}

/** A record no partition can hold, described for quarantine. */
function unplaceableRecord(topic: string, partition: number, offset: number, reason: string, raw: unknown): DecodedRecord {
  const value = raw !== null && typeof raw === 'object' ? (raw as { value?: unknown }).value : undefined;
  return {
    topic,
    partition,
    offset,
    kafkaTimestamp: -1,
    key: undefined,
    // Whatever bytes there are, for the quarantine sample; base64 text is decoded as Buffer.from does.
    value: typeof value === 'string' ? Buffer.from(value, 'base64') : raw === undefined ? undefined : Buffer.from(safeJson(raw), 'utf8'),
    headers: {},
    partitionId: partitionIdOf(topic, partition),
    envelopeError: reason,
  };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function describe(v: unknown): string {
  return v === undefined ? 'missing' : `${safeJson(v).slice(0, 40)}`;
}

/**
 * Decodes every record of the event, keeping each partition's records in offset order.
 * Partitions come out in the order the event first names them; records of one partition listed
 * under two record-map keys are merged, and an offset listed twice is read once. Records that
 * cannot be placed are dropped here: use {@link decodeKafkaEventChecked} to quarantine them.
 *
 * Keys, values and headers are decoded when read (from the event, which must not change meanwhile):
 * the ingest path reads each value once through `valueBytes`, and keeps no Buffer per record.
 */
export function decodeKafkaEvent(event: KafkaEvent): DecodedRecord[][] {
  return decodeKafkaEventChecked(event).partitions;
}

/** decodeKafkaEvent, with the records it cannot place (see DecodedEvent). Never throws on a record. */
export function decodeKafkaEventChecked(event: KafkaEvent): DecodedEvent {
  const byPartition = new Map<string, LazyRecord[]>();
  const unplaceable: DecodedRecord[] = [];
  const records = event.records !== null && typeof event.records === 'object' ? event.records : {};
  for (const [mapKey, entry] of Object.entries(records)) {
    const fromKey = keyCoordinates(mapKey);
    if (!Array.isArray(entry)) {
      unplaceable.push(unplaceableRecord(fromKey.topic, fromKey.partition, -1, `record-map entry "${mapKey}" is not a list of records`, entry));
      continue;
    }
    let previous: LazyRecord | undefined;
    let list: LazyRecord[] | undefined;
    for (let i = 0; i < entry.length; i++) {
      const record = entry[i] as KafkaEventRecord;
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        unplaceable.push(unplaceableRecord(fromKey.topic, fromKey.partition, -(i + 1), `record ${i} of "${mapKey}" is not an object`, record));
        continue;
      }
      const topic = typeof record.topic === 'string' && record.topic !== '' ? record.topic : undefined;
      const partition = coordinateOf(record.partition);
      const offset = coordinateOf(record.offset);
      if (topic === undefined || partition === undefined || offset === undefined) {
        const problem =
          topic === undefined
            ? `topic is ${describe(record.topic)}, not a topic name`
            : partition === undefined
              ? `partition is ${describe(record.partition)}, not a non-negative integer`
              : `offset is ${describe(record.offset)}, not a non-negative integer`;
        unplaceable.push(unplaceableRecord(topic ?? fromKey.topic, partition ?? fromKey.partition, offset ?? -(i + 1), `record ${i} of "${mapKey}": ${problem}`, record));
        continue;
      }
      // Records of one entry share a partition: its id and list are looked up once, not per record.
      let partitionId: string;
      if (previous !== undefined && previous.topic === topic && previous.partition === partition) {
        partitionId = previous.partitionId;
      } else {
        partitionId = partitionIdOf(topic, partition);
        list = byPartition.get(partitionId);
        if (list === undefined) byPartition.set(partitionId, (list = []));
      }
      const next = new LazyRecord(record, partitionId, offset);
      list!.push(next);
      previous = next;
    }
  }
  const partitions: DecodedRecord[][] = [];
  for (const list of byPartition.values()) {
    let sorted = true;
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.offset <= list[i - 1]!.offset) {
        sorted = false;
        break;
      }
    }
    if (sorted) {
      partitions.push(list);
      continue;
    }
    // Stable: of an offset listed twice, the first listing is read.
    const ordered = [...list].sort((a, b) => a.offset - b.offset);
    partitions.push(ordered.filter((r, i) => i === 0 || r.offset !== ordered[i - 1]!.offset));
  }
  return { partitions, unplaceable };
}

/**
 * A record's value bytes, decoded afresh when not already held (nothing is cached on the record):
 * for a single pass over every value that should not keep a Buffer per record alive.
 */
export function valueBytes(record: DecodedRecord): Buffer | undefined {
  return record instanceof LazyRecord ? record.peekValue() : record.value;
}

/** Why a value cannot be read as text, or undefined: see ValueReader.read. */
export const UNREADABLE = { tombstone: -1, base64: -2 } as const;

/** Whether the bytes from `start` begin with a UTF-8 byte-order mark (EF BB BF), which JSON.parse refuses. */
function hasBom(bytes: Buffer, length: number): boolean {
  return length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/** A value's bytes as text, as ingest reads them: UTF-8, a leading byte-order mark stripped. */
export function valueText(bytes: Buffer): string {
  return bytes.toString('utf8', hasBom(bytes, bytes.length) ? 3 : 0);
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

  /**
   * Decodes the record's value; returns its size in bytes, UNREADABLE.tombstone (-1) when it has
   * none, or UNREADABLE.base64 (-2) when its text is not padded base64: Buffer.from skips the
   * characters it cannot decode, so such a value would be read as other bytes than were sent.
   */
  read(record: DecodedRecord): number {
    let value: Buffer | undefined;
    if (record instanceof LazyRecord) {
      const encoded = record.encodedValue();
      if (typeof encoded === 'string') {
        // byteLength is what whole, padded base64 of this length decodes to (and what Buffer.from
        // allocates): decoding writes less exactly when it skipped a character.
        if ((encoded.length & 3) !== 0) return UNREADABLE.base64;
        const expected = Buffer.byteLength(encoded, 'base64');
        if (expected <= this.scratch.length) {
          this.current = this.scratch;
          const written = this.scratch.write(encoded, 0, 'base64');
          return written === expected ? (this.length = written) : UNREADABLE.base64;
        }
        value = Buffer.from(encoded, 'base64');
        if (value.length !== expected) return UNREADABLE.base64;
      } else {
        value = encoded;
      }
    } else {
      value = record.value;
    }
    if (value === undefined) return UNREADABLE.tombstone;
    this.current = value;
    return (this.length = value.length);
  }

  /** The value last read, as UTF-8 text without a leading byte-order mark (see valueText). */
  text(): string {
    const current = this.current!;
    return current.toString('utf8', hasBom(current, this.length) ? 3 : 0, this.length);
  }

  /** Whether the value last read is valid UTF-8 (text() turns invalid bytes into U+FFFD). */
  isUtf8(): boolean {
    return isUtf8(this.current!.subarray(0, this.length));
  }
}

/** A decoded record that reads its coordinates from the event's record and decodes bytes on demand. */
class LazyRecord implements DecodedRecord {
  // Few fields: one of these lives per record of the batch (coordinates are read from the source).
  private decodedValue: Buffer | undefined = undefined;
  private decodedHeaders: Record<string, Buffer> | undefined = undefined;

  constructor(
    private readonly source: KafkaEventRecord,
    readonly partitionId: string,
    readonly offset: number,
  ) {}

  get topic(): string {
    return this.source.topic;
  }

  /** Checked when decoded: a non-negative safe integer, or a string of digits that is one. */
  get partition(): number {
    const partition: unknown = this.source.partition;
    return typeof partition === 'number' ? partition : Number(partition);
  }

  get envelopeError(): string | undefined {
    const value: unknown = this.source.value;
    return value == null || typeof value === 'string' ? undefined : `value is ${describe(value)}, not base64 text`;
  }

  get kafkaTimestamp(): number {
    return timestampOf(this.source.timestamp);
  }

  get key(): string | undefined {
    const key: unknown = this.source.key;
    return typeof key === 'string' ? Buffer.from(key, 'base64').toString('utf8') : undefined;
  }

  get value(): Buffer | undefined {
    return (this.decodedValue ??= this.peekValue());
  }

  get headers(): Record<string, Buffer> {
    return (this.decodedHeaders ??= decodeHeaders(this.source.headers));
  }

  /** The value if already decoded, else its base64 text as the event holds it (undefined: no value, or not text). */
  encodedValue(): Buffer | string | undefined {
    if (this.decodedValue !== undefined) return this.decodedValue;
    const value: unknown = this.source.value;
    return typeof value === 'string' ? value : undefined;
  }

  /** The value, decoded now unless already held. */
  peekValue(): Buffer | undefined {
    if (this.decodedValue !== undefined) return this.decodedValue;
    const value: unknown = this.source.value;
    return typeof value === 'string' ? Buffer.from(value, 'base64') : undefined;
  }
}
