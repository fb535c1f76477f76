/**
 * The pure half of ingest: from decoded records to one pre-aggregated delta per
 * (pipeline, key, window), the side records, and each partition's progress. No I/O.
 *
 * This is the hot loop: per event it allocates nothing beyond the parsed event itself (aggregates
 * remember their events as indexes into the batch, and lookups are by nested maps, not joined keys).
 */
import type { DecodedRecord } from '../codec/kafka-event.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';
import { windowStartOf } from '../pipelines/window.ts';
import type { ParseResult } from '../schemas/family.ts';
import { emptyDelta, foldKept, foldRejected, type SlotDelta } from './fold.ts';
import { sideRecord, type SideRecord } from './quarantine.ts';
import type { Router } from './router.ts';

type TimedEvent = { eventTime: number };

/** The valid events of a batch, by index, with the record each came from. */
export interface BatchEvents {
  records: DecodedRecord[];
  events: TimedEvent[];
}

/** One event's place in an aggregate. */
export interface Contribution {
  partitionId: string;
  offset: number;
  record: DecodedRecord;
  event: TimedEvent;
  kept: boolean;
}

/** Offsets of one partition that feed an aggregate. */
export interface OffsetRange {
  partitionId: string;
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
  /** One range per source partition; an array, as an aggregate rarely spans more than one or two. */
  offsets: OffsetRange[];
  /** Event indexes into `batch`, times two, plus one when the pipeline's filter kept the event. */
  members: number[];
  batch: BatchEvents;
  /** The same key's aggregate for another window of this batch (a short chain, usually empty). */
  nextWindow: WindowAggregate | undefined;
}

/** What a batch did to one partition: its offsets and the event times it carried. */
export interface PartitionProgress {
  topic: string;
  partition: number;
  partitionId: string;
  firstOffset: number;
  lastOffset: number;
  /** Offsets and event times of valid events, in offset order: the watermark may only count applied ones. */
  offsets: number[];
  eventTimes: number[];
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

function parse(record: DecodedRecord, router: Router, options: PlanOptions): ParseResult<TimedEvent> {
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
  return route.family.parse(json);
}

/** Records of a partition arrive in offset order, so a range only ever grows at its end. */
function extendRange(ranges: OffsetRange[], record: DecodedRecord): void {
  for (const range of ranges) {
    if (range.partitionId === record.partitionId) {
      range.last = record.offset;
      return;
    }
  }
  ranges.push({ partitionId: record.partitionId, topic: record.topic, partition: record.partition, first: record.offset, last: record.offset });
}

/** Aggregates of one pipeline by key; other windows of a key hang off `nextWindow`. */
type PipelineAggregates = Map<string, WindowAggregate>;

/**
 * Plans a batch: validates each record once, routes it to every pipeline of its topic, and folds
 * it into its (pipeline, key, window) aggregate. Bad records become side records; nothing throws.
 */
export function planBatch(partitions: DecodedRecord[][], router: Router, options: PlanOptions): BatchPlan {
  const byPipeline = new Map<Pipeline, PipelineAggregates>();
  const aggregates: WindowAggregate[] = [];
  const batch: BatchEvents = { records: [], events: [] };
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
      offsets: [],
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
      const index = batch.events.length;
      batch.events.push(event);
      batch.records.push(record);
      part.offsets.push(record.offset);
      part.eventTimes.push(event.eventTime);

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
        let keys = byPipeline.get(pipeline);
        if (!keys) byPipeline.set(pipeline, (keys = new Map()));
        const first = keys.get(key);
        let agg = first;
        while (agg !== undefined && agg.windowStart !== windowStart) agg = agg.nextWindow;
        if (!agg) {
          agg = {
            pipeline,
            key,
            windowStart,
            windowEnd: windowStart + pipeline.window.sizeMs,
            delta: emptyDelta(pipeline),
            offsets: [],
            members: [],
            batch,
            nextWindow: first,
          };
          keys.set(key, agg);
          aggregates.push(agg);
        }
        if (kept) foldKept(pipeline, agg.delta, event);
        else foldRejected(agg.delta);
        extendRange(agg.offsets, record);
        agg.members.push(index * 2 + (kept ? 1 : 0));
      }
    }
  }
  return { aggregates, sideRecords, partitions: progress, stats };
}

/** The events of an aggregate, materialised (off the hot path: late, rejected or partial writes). */
export function contributionsOf(agg: WindowAggregate): Contribution[] {
  return agg.members.map((m) => {
    const record = agg.batch.records[m >> 1]!;
    return { partitionId: record.partitionId, offset: record.offset, record, event: agg.batch.events[m >> 1]!, kept: (m & 1) === 1 };
  });
}

/** Re-folds only the contributions a store has not yet seen (offset above its mark per partition). */
export function refoldAbove(
  agg: WindowAggregate,
  marks: ReadonlyMap<string, number>,
): { delta: SlotDelta; offsets: OffsetRange[]; contributions: Contribution[] } {
  const delta = emptyDelta(agg.pipeline);
  const offsets: OffsetRange[] = [];
  const contributions: Contribution[] = [];
  for (const c of contributionsOf(agg)) {
    const mark = marks.get(c.partitionId);
    if (mark !== undefined && c.offset <= mark) continue;
    if (c.kept) foldKept(agg.pipeline, delta, c.event);
    else foldRejected(delta);
    extendRange(offsets, c.record);
    contributions.push(c);
  }
  return { delta, offsets, contributions };
}
