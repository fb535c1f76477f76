/**
 * The generator's event log (events.jsonl): one line per produced record with its Kafka
 * coordinates and raw value, so a run can be checked against, or replayed from, what was sent.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { GeneratedRecord } from './generate.ts';
import type { ProducedRecord } from './produce.ts';

/** One line of events.jsonl. */
export interface EventLogEntry {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  /** The record's value exactly as produced (malformed ones included). */
  value: string;
  eventTime?: number;
  malformed?: string;
  late?: boolean;
  /** Index of the injected scenario the record belongs to. */
  scenario?: number;
  /** The Kafka record timestamp it was produced with (epoch ms), when the generator set one. */
  timestamp?: number;
}

/**
 * Joins generated records with where the broker put them (same index in both arrays).
 *
 * @throws RangeError when the arrays differ in length.
 */
export function toEventLog(records: readonly GeneratedRecord[], produced: readonly Pick<ProducedRecord, 'topic' | 'partition' | 'offset'>[]): EventLogEntry[] {
  if (records.length !== produced.length) throw new RangeError(`${records.length} records but ${produced.length} delivery reports`);
  return records.map((r, i) => {
    const p = produced[i]!;
    const entry: EventLogEntry = { topic: p.topic, partition: p.partition, offset: p.offset, key: r.key, value: r.value };
    if (r.eventTime !== undefined) entry.eventTime = r.eventTime;
    if (r.malformed !== undefined) entry.malformed = r.malformed;
    if (r.late) entry.late = true;
    if (r.scenario !== undefined) entry.scenario = r.scenario;
    if (r.timestamp !== undefined) entry.timestamp = r.timestamp;
    return entry;
  });
}

/** Writes `entries` to `path` as JSON lines, replacing the file; resolves once it is flushed. */
export async function writeEventLog(path: string, entries: Iterable<EventLogEntry>): Promise<void> {
  const out = createWriteStream(path, { encoding: 'utf8' });
  const failed = once(out, 'error').then(([err]) => Promise.reject(err as Error));
  failed.catch(() => {});
  try {
    for (const e of entries) {
      // Honour backpressure so a large log does not pile up in memory.
      if (!out.write(`${JSON.stringify(e)}\n`)) await Promise.race([once(out, 'drain'), failed]);
    }
  } finally {
    out.end();
  }
  await Promise.race([once(out, 'finish'), failed]);
}

function checkEntry(v: unknown, line: number, path: string): EventLogEntry {
  const e = v as Partial<EventLogEntry> | null;
  const ok =
    e !== null &&
    typeof e === 'object' &&
    typeof e.topic === 'string' &&
    Number.isInteger(e.partition) &&
    Number.isInteger(e.offset) &&
    (e.key === null || typeof e.key === 'string') &&
    typeof e.value === 'string' &&
    (e.eventTime === undefined || typeof e.eventTime === 'number') &&
    (e.malformed === undefined || typeof e.malformed === 'string') &&
    (e.late === undefined || typeof e.late === 'boolean') &&
    (e.scenario === undefined || Number.isInteger(e.scenario)) &&
    (e.timestamp === undefined || Number.isInteger(e.timestamp));
  if (!ok) throw new Error(`${path}:${line}: not an event log entry`);
  return e as EventLogEntry;
}

/** Streams the entries of an events.jsonl file; blank lines are skipped. */
export async function* readEventLogLines(path: string): AsyncGenerator<EventLogEntry> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw new Error(`${path}:${n}: invalid JSON (${(err as Error).message})`);
    }
    yield checkEntry(parsed, n, path);
  }
}

/**
 * Reads a whole events.jsonl file.
 *
 * @throws Error naming the file and line of the first invalid entry.
 */
export async function readEventLog(path: string): Promise<EventLogEntry[]> {
  const entries: EventLogEntry[] = [];
  for await (const e of readEventLogLines(path)) entries.push(e);
  return entries;
}
