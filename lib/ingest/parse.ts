/**
 * The parse step of planning (lib/ingest/plan.ts): one record's value to its event, or why not.
 * Each value is read once into a shared scratch buffer and not kept; on success nothing is
 * allocated beyond the parsed event.
 */
import { UNREADABLE, ValueReader, valueBytes, valueText, type DecodedRecord } from '../codec/kafka-event.ts';
import type { EventFamily } from '../schemas/family.ts';
import type { TopicRoute } from './router.ts';

export type TimedEvent = { eventTime: number };

/** Why a record yields no event: the reason and, when one is to blame, the field. */
export class Unparsable {
  constructor(
    readonly reason: string,
    readonly field: string | undefined,
  ) {}
}

export interface ParseOptions {
  /** Values larger than this are quarantined unread. */
  maxRecordBytes: number;
  /**
   * How far an event's time may be ahead of its record's Kafka timestamp (ms); an event further
   * ahead is quarantined and moves no watermark. Absent: no bound (records without a Kafka
   * timestamp are never bounded).
   */
  maxEventAheadMs?: number;
}

/** One reader for every batch: planning is synchronous, and each value is read once, then dropped. */
const reader = new ValueReader();

const DAY_MS = 86_400_000;

/** A time for a reason: ISO-8601 when a Date can hold it, else the number. */
function isoOf(t: number): string {
  return Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : String(t);
}

/** A gap for a reason, in the largest unit that reads well. */
function durationOf(ms: number): string {
  if (ms >= 365 * DAY_MS) return `${(ms / (365.25 * DAY_MS)).toFixed(1)} years`;
  if (ms >= DAY_MS) return `${(ms / DAY_MS).toFixed(1)} days`;
  if (ms >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  if (ms >= 60_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${ms} ms`;
}

/** Why a record cannot be parsed before its value (of `size` bytes, -1: none) is even parsed, or undefined. */
function unreadable(record: DecodedRecord, envelopeError: string | undefined, size: number, route: TopicRoute | undefined, options: ParseOptions): Unparsable | undefined {
  if (envelopeError !== undefined) return new Unparsable(envelopeError, 'value');
  if (!route) return new Unparsable(`no pipeline reads topic "${record.topic}"`, undefined);
  if (size === UNREADABLE.base64) return new Unparsable('value is not valid base64 (padded, standard alphabet)', 'value');
  if (size < 0) return new Unparsable('record has no value (tombstone)', 'value');
  if (size > options.maxRecordBytes) return new Unparsable(`value is ${size} bytes, over the ${options.maxRecordBytes}-byte limit`, 'value');
  return undefined;
}

/**
 * Why an event is too far in the future to trust, or undefined. Judged against the record's own
 * Kafka timestamp, never the clock, so every delivery of the record decides alike.
 */
function tooFarAhead(record: DecodedRecord, eventTime: number, maxAheadMs: number): Unparsable | undefined {
  const kafkaTime = record.kafkaTimestamp;
  if (kafkaTime < 0 || !(eventTime > kafkaTime + maxAheadMs)) return undefined;
  return new Unparsable(
    `event time ${isoOf(eventTime)} is ${durationOf(eventTime - kafkaTime)} ahead of the record's Kafka timestamp ${isoOf(kafkaTime)}, more than the ${maxAheadMs} ms allowed (MAX_EVENT_AHEAD_MS)`,
    undefined,
  );
}

/** A value's JSON, or why it has none. */
function jsonOf(text: string): unknown {
  // U+FFFD is what decoding makes of invalid bytes; only then is the check needed (and a
  // one-byte string, most values, cannot hold it, so the search is free).
  if (text.indexOf('\ufffd') !== -1 && !reader.isUtf8()) return new Unparsable('value is not valid UTF-8', 'value');
  try {
    return JSON.parse(text);
  } catch (err) {
    return new Unparsable(`invalid JSON: ${(err as Error).message}`, 'value');
  }
}

/**
 * Whether every string JSON.parse reads from `text` is printable ASCII (U+0020 to U+007E), so the
 * fast path need not check names (PlainText in lib/schemas/fast.ts). `text` must be valid UTF-8
 * decoded from `bytes` bytes (jsonOf has refused the rest): then as many UTF-16 units as bytes means
 * every byte was ASCII, since a multi-byte character yields fewer units than bytes (and a stripped
 * byte-order mark leaves fewer units too). A JSON string holds no raw control character (JSON.parse
 * refuses them), so without escapes and DEL its characters are printable. Two scans of the text by
 * the engine cost less than checking each field of the event apart.
 */
export function isPlainJsonText(text: string, bytes: number): boolean {
  return text.length === bytes && text.indexOf('\\') === -1 && text.indexOf('\x7f') === -1;
}

/**
 * Reads, decodes and validates one record against its topic's family (`route`, undefined when no
 * pipeline reads the topic): its event, or why it has none (the record is then quarantined).
 */
export function parseRecord(record: DecodedRecord, route: TopicRoute | undefined, options: ParseOptions): TimedEvent | Unparsable {
  // Read once and not kept: the record decodes it again if a side record needs it.
  // The envelope is judged once: on a record decoded lazily, each read of envelopeError judges it again.
  const envelopeError = record.envelopeError;
  const size = route && envelopeError === undefined ? reader.read(record) : -1;
  const failed = unreadable(record, envelopeError, size, route, options);
  if (failed !== undefined) return failed;
  const text = reader.text();
  const json = jsonOf(text);
  if (json instanceof Unparsable) return json;
  let event = route!.family.parseFast(json, isPlainJsonText(text, size));
  if (event === undefined) {
    const parsed = route!.family.parseSlow(json);
    if (!parsed.ok) return new Unparsable(parsed.reason, parsed.field);
    event = parsed.event;
  }
  if (options.maxEventAheadMs !== undefined) return tooFarAhead(record, event.eventTime, options.maxEventAheadMs) ?? event;
  return event;
}

/**
 * A valid record's event, parsed again from its value (parsing is pure, so this is the event the
 * planner folded): for the rare paths that need it, so the batch need not keep every event.
 */
export function eventOf(record: DecodedRecord, family: EventFamily<TimedEvent>): TimedEvent {
  const value = valueBytes(record);
  if (value !== undefined) {
    const json: unknown = JSON.parse(valueText(value));
    const event = family.parseFast(json);
    if (event !== undefined) return event;
    const parsed = family.parseSlow(json);
    if (parsed.ok) return parsed.event;
  }
  throw new Error(`record ${record.partitionId}@${record.offset} no longer parses as it did when planned`);
}
