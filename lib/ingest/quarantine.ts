/** Records that could not be applied, with why and where they came from. */
import { createHash } from 'node:crypto';
import type { DecodedRecord } from '../codec/kafka-event.ts';
import { recordIdOf } from '../codec/partition-id.ts';

/** Bytes of a bad payload kept for inspection; the hash identifies the whole of it. */
export const QUARANTINE_SAMPLE_BYTES = 1024;

export type SideOutputKind = 'quarantine' | 'late';

/** A record sent to a side output: quarantined (bad input) or late (its window had closed). */
export interface SideRecord {
  kind: SideOutputKind;
  topic: string;
  partition: number;
  offset: number;
  reason: string;
  /** The offending field, when one is to blame. */
  field: string | undefined;
  /** For late records: which window turned it away. */
  pipeline?: string;
  key?: string;
  windowStart?: number;
  size: number;
  sha256: string;
  sample: string;
}

export function sideRecord(
  kind: SideOutputKind,
  record: DecodedRecord,
  reason: string,
  field?: string,
  window?: { pipeline: string; key: string; windowStart: number },
): SideRecord {
  const value = record.value ?? Buffer.alloc(0);
  return {
    kind,
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    reason,
    field,
    ...window,
    size: value.length,
    sha256: createHash('sha256').update(value).digest('hex'),
    sample: value.subarray(0, QUARANTINE_SAMPLE_BYTES).toString('utf8'),
  };
}

/** How a side record is named in logs and errors: "<topic>-<partition>@<offset>". */
export function coordinates(r: { topic: string; partition: number; offset: number }): string {
  return recordIdOf(r.topic, r.partition, r.offset);
}
