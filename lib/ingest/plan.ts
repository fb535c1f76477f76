/**
 * The pure half of ingest: from decoded records to one pre-aggregated delta per
 * (pipeline, key, window), the side records, and each partition's progress. No I/O.
 */
import type { DecodedRecord } from '../codec/kafka-event.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';
import { windowStartOf } from '../pipelines/window.ts';
import { emptyDelta, foldKept, foldRejected, type SlotDelta } from './fold.ts';
import { sideRecord, type SideRecord } from './quarantine.ts';
import type { Router } from './router.ts';

/** One event's place in an aggregate, kept so a partially applied aggregate can be re-folded. */
export interface Contribution {
  partitionId: string;
  offset: number;
  record: DecodedRecord;
  event: { eventTime: number };
  kept: boolean;
}

/** Offsets of one partition that feed an aggregate. */
export interface OffsetRange {
  topic: string;
  partition: number;
  first: number;
  last: number;
}

/** Everything one batch adds to one window of one pipeline. */
export interface WindowAggregate {
  pipeline: Pipeline;
  key: string;
  windowStart: number;
  windowEnd: number;
  delta: SlotDelta;
  offsets: Map<string, OffsetRange>;
  contributions: Contribution[];
}

/** What a batch did to one partition: its offsets and the event times it carried. */
export interface PartitionProgress {
  topic: string;
  partition: number;
  partitionId: string;
  firstOffset: number;
  lastOffset: number;
  /** Valid events' (offset, event time), in offset order: the watermark may only count applied ones. */
  eventTimes: { offset: number; eventTime: number }[];
}

export interface BatchPlan {
  aggregates: WindowAggregate[];
  sideRecords: SideRecord[];
  partitions: PartitionProgress[];
  stats: { records: number; valid: number; quarantined: number; filtered: number };
}

export interface PlanOptions {
  /** Values larger than this are quarantined unread. */
  maxRecordBytes: number;
}

type Parsed = { ok: true; event: { eventTime: number } } | { ok: false; reason: string; field: string | undefined };

function parse(record: DecodedRecord, router: Router, options: PlanOptions): Parsed {
  const route = router.get(record.topic);
  if (!route) return { ok: false, reason: `no pipeline reads topic "${record.topic}"`, field: undefined };
  if (record.value === undefined) return { ok: false, reason: 'record has no value (tombstone)', field: 'value' };
  if (record.value.length > options.maxRecordBytes) {
    return { ok: false, reason: `value is ${record.value.length} bytes, over the ${options.maxRecordBytes}-byte limit`, field: 'value' };
  }
  let json: unknown;
  try {
    json = JSON.parse(record.value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}`, field: 'value' };
  }
  const result = route.schema.safeParse(json);
  if (result.success) return { ok: true, event: result.data };
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : undefined;
  const more = result.error.issues.length > 1 ? ` (+${result.error.issues.length - 1} more)` : '';
  return { ok: false, reason: `${field ? `field "${field}": ` : ''}${issue.message}${more}`, field };
}

/**
 * Plans a batch: validates each record once, routes it to every pipeline of its topic, and folds
 * it into its (pipeline, key, window) aggregate. Bad records become side records; nothing throws.
 */
export function planBatch(partitions: DecodedRecord[][], router: Router, options: PlanOptions): BatchPlan {
  const aggregates = new Map<string, WindowAggregate>();
  const sideRecords: SideRecord[] = [];
  const progress: PartitionProgress[] = [];
  const stats = { records: 0, valid: 0, quarantined: 0, filtered: 0 };

  for (const records of partitions) {
    if (records.length === 0) continue;
    const head = records[0]!;
    const part: PartitionProgress = {
      topic: head.topic,
      partition: head.partition,
      partitionId: head.partitionId,
      firstOffset: head.offset,
      lastOffset: records[records.length - 1]!.offset,
      eventTimes: [],
    };
    progress.push(part);

    for (const record of records) {
      stats.records++;
      const parsed = parse(record, router, options);
      if (!parsed.ok) {
        stats.quarantined++;
        sideRecords.push(sideRecord('quarantine', record, parsed.reason, parsed.field));
        continue;
      }
      stats.valid++;
      const event = parsed.event;
      part.eventTimes.push({ offset: record.offset, eventTime: event.eventTime });

      for (const pipeline of router.get(record.topic)!.pipelines) {
        const kept = pipeline.keep(event);
        if (!kept && pipeline.rejectedAs === undefined) {
          stats.filtered++;
          continue;
        }
        const key = pipeline.keyOf(event);
        if (key === undefined || key === '') {
          stats.quarantined++;
          sideRecords.push(sideRecord('quarantine', record, `pipeline "${pipeline.name}" found no key in the event`));
          continue;
        }
        const windowStart = windowStartOf(pipeline.window, event.eventTime);
        const id = `${pipeline.name}\u0000${key}\u0000${windowStart}`;
        let agg = aggregates.get(id);
        if (!agg) {
          agg = {
            pipeline,
            key,
            windowStart,
            windowEnd: windowStart + pipeline.window.sizeMs,
            delta: emptyDelta(pipeline),
            offsets: new Map(),
            contributions: [],
          };
          aggregates.set(id, agg);
        }
        if (kept) foldKept(pipeline, agg.delta, event);
        else foldRejected(agg.delta);
        const range = agg.offsets.get(record.partitionId);
        if (range) range.last = record.offset;
        else agg.offsets.set(record.partitionId, { topic: record.topic, partition: record.partition, first: record.offset, last: record.offset });
        agg.contributions.push({ partitionId: record.partitionId, offset: record.offset, record, event, kept });
      }
    }
  }
  return { aggregates: [...aggregates.values()], sideRecords, partitions: progress, stats };
}

/** Re-folds only the contributions a store has not yet seen (offset above its mark per partition). */
export function refoldAbove(agg: WindowAggregate, marks: ReadonlyMap<string, number>): { delta: SlotDelta; offsets: Map<string, OffsetRange>; contributions: Contribution[] } {
  const delta = emptyDelta(agg.pipeline);
  const offsets = new Map<string, OffsetRange>();
  const contributions: Contribution[] = [];
  for (const c of agg.contributions) {
    const mark = marks.get(c.partitionId);
    if (mark !== undefined && c.offset <= mark) continue;
    if (c.kept) foldKept(agg.pipeline, delta, c.event);
    else foldRejected(delta);
    const range = offsets.get(c.partitionId);
    if (range) range.last = c.offset;
    else offsets.set(c.partitionId, { topic: c.record.topic, partition: c.record.partition, first: c.offset, last: c.offset });
    contributions.push(c);
  }
  return { delta, offsets, contributions };
}
