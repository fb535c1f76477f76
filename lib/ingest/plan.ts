/**
 * The pure half of ingest: from decoded records to one pre-aggregated delta per
 * (pipeline, key, window), the side records, and each partition's progress. No I/O.
 *
 * Three steps per record: parse (lib/ingest/parse.ts), then per pipeline of its topic filter, key,
 * assign its stored window (lib/ingest/assign.ts) and judge it late or not, then fold it into that
 * window's aggregate (lib/ingest/aggregate.ts). A hopping pipeline stores fine buckets (one per
 * advance): an event lands in exactly one bucket, and is late iff that bucket has ended, so it is
 * applied to all of its overlapping windows or to none (docs/design.md, "Windows").
 *
 * This is the hot loop: per event it allocates nothing beyond the parsed event itself (aggregates
 * remember their events as indexes into the batch, and lookups are by nested maps, not joined keys).
 * Nor does the batch keep the parsed events: what outlives an event is its slot values (folded),
 * its offset (in its aggregates' ranges and members) and its record, which decodes it again in the
 * rare cases that need the event itself (contributionsOf: partial overlaps, late or rejected writes).
 */
import type { DecodedRecord } from '../codec/kafka-event.ts';
import { KEEP_ALL, type Pipeline } from '../pipelines/pipeline.ts';
import { storageSpecOf } from '../pipelines/window.ts';
import { Aggregate, extendRange, PlanState, type BatchEvents, type OffsetRange, type PipelineFold, type RangeSource, type WindowAggregate } from './aggregate.ts';
import { WindowAssigner, type BatchWindow } from './assign.ts';
import { compiledSlotsOf, DeltaFolder, type SlotDelta } from './fold.ts';
import { eventOf, parseRecord, Unparsable, type ParseOptions, type TimedEvent } from './parse.ts';
import { sideRecord, type SideRecord } from './quarantine.ts';
import type { Router, TopicRoute } from './router.ts';

export type { BatchEvents, OffsetRange, WindowAggregate } from './aggregate.ts';

/** One event's place in an aggregate. */
export interface Contribution {
  partitionId: string;
  offset: number;
  record: DecodedRecord;
  event: TimedEvent;
  kept: boolean;
}

/** What a batch did to one partition: its offsets and the event times it carried. */
export interface PartitionProgress {
  topic: string;
  partition: number;
  partitionId: string;
  firstOffset: number;
  /** First offset above the partition's durable mark, which this batch had to plan. */
  firstPlannedOffset: number;
  lastOffset: number;
  /** Offsets and event times of valid events, in offset order: the watermark may only count applied ones. */
  offsets: number[];
  eventTimes: number[];
}

export interface PlanStats {
  records: number;
  valid: number;
  quarantined: number;
  filtered: number;
  /** (event, pipeline) pairs with at least one window that had ended when the event was read. */
  late: number;
  alreadyApplied: number;
}

/**
 * The `pipeline` a late side record names when sequence rules turned the event away: they apply a
 * topic's events in event-time order only within the watermark delay (docs/design.md, "Sequence rules").
 */
export const SEQUENCE_LATE_PIPELINE = 'sequence';

const sequenceLateReason = (eventTime: number, watermark: number): string =>
  `event time ${new Date(eventTime).toISOString()} is below the partition's watermark ${new Date(watermark).toISOString()}: sequence rules do not apply it`;

/** A valid, on-time event of a topic sequence rules read (lib/sequences/stage.ts). */
export interface SequenceEvent {
  topic: string;
  partition: number;
  offset: number;
  event: TimedEvent;
}

export interface BatchPlan {
  aggregates: WindowAggregate[];
  /** In partition then offset order; empty unless `sequenceTopics` names the topic. */
  sequenceEvents: SequenceEvent[];
  /** Events of a sequence topic below their partition's watermark: not applied to sequence state. */
  sequenceLate: number;
  sideRecords: SideRecord[];
  partitions: PartitionProgress[];
  stats: PlanStats;
}

/**
 * What decides lateness when a record is read. A partition's watermark at a record is the greatest
 * event time of the valid records before it in that partition, minus the delay; an event is late
 * for each of its windows that ends at or before it. This depends only on the partition's log,
 * never on how batches were cut or when the closer ran, so a redelivery decides exactly as the
 * first delivery did, and a reference computation over the log can decide the same.
 */
export interface Lateness {
  delayMs: number;
  /** Durable partition marks by partition id, read before planning. */
  marks: ReadonlyMap<string, { maxEventTime: number; lastOffset: number }>;
}

export interface PlanOptions extends ParseOptions {
  /** Absent: no event is late at planning (storage still turns away events for closed windows). */
  lateness?: Lateness;
  /**
   * Topics that sequence rules read: their valid events at or above the partition watermark are
   * kept for the sequence stage (an event below it is late for sequences, SEQ-SEMANTICS).
   */
  sequenceTopics?: ReadonlySet<string>;
}

/** One pipeline of a route, with what the loop needs of it at hand. */
interface PipelineState extends PipelineFold {
  keep: (event: TimedEvent) => boolean;
  /** The pipeline has no filter (keep is KEEP_ALL): every event is kept, without the call. */
  keepsAll: boolean;
  keyOf: (event: TimedEvent) => string | undefined;
  keepsRejected: boolean;
  assigner: WindowAssigner<Aggregate>;
}

/**
 * Plans a batch: validates each record once, routes it to every pipeline of its topic, and folds
 * it into its (pipeline, key, window) aggregates. Bad records become side records; nothing throws.
 */
export function planBatch(partitions: DecodedRecord[][], router: Router, options: PlanOptions): BatchPlan {
  let total = 0;
  for (const records of partitions) total += records.length;
  const planner = new BatchPlanner(router, options, total);
  for (const records of partitions) if (records.length > 0) planner.partition(records);
  return planner.plan;
}

/** The state of one planBatch call, record by record. */
class BatchPlanner {
  readonly plan: BatchPlan = {
    aggregates: [],
    sequenceEvents: [],
    sequenceLate: 0,
    sideRecords: [],
    partitions: [],
    stats: { records: 0, valid: 0, quarantined: 0, filtered: 0, late: 0, alreadyApplied: 0 },
  };
  private readonly batch: BatchEvents = { records: [] };
  private readonly state: PlanState;
  private readonly statesByRoute = new Map<TopicRoute, PipelineState[]>();
  private topic: string | undefined = undefined;
  private route: TopicRoute | undefined = undefined;
  private states: PipelineState[] = [];
  /** The partition of the records at hand: a record of another starts a new source (and may change topic). */
  private source: RangeSource | undefined = undefined;

  constructor(
    private readonly router: Router,
    private readonly options: PlanOptions,
    records: number,
  ) {
    // Slots: a few per aggregate, about one aggregate per event and pipeline; the store grows if short.
    this.state = new PlanState(this.batch, Math.max(128, records * 6));
  }

  /** Plans one partition's records, in offset order, continuing from its durable mark. */
  partition(records: DecodedRecord[]): void {
    const { stats } = this.plan;
    const head = records[0]!;
    const mark = this.options.lateness?.marks.get(head.partitionId);
    // Records at or below the mark were fully applied by an earlier delivery: nothing to redo.
    const appliedThrough = mark?.lastOffset ?? -1;
    const delayMs = this.options.lateness?.delayMs;
    let seenMax = mark?.maxEventTime ?? -Infinity;
    const sequences = this.options.sequenceTopics?.has(head.topic) === true;
    const last = records[records.length - 1]!.offset;
    const part: PartitionProgress = { topic: head.topic, partition: head.partition, partitionId: head.partitionId, firstOffset: head.offset, firstPlannedOffset: head.offset, lastOffset: last, offsets: [], eventTimes: [] };
    this.plan.partitions.push(part);
    // Hot loop: what it touches per record is held in locals, not reread from `this`.
    const options = this.options;
    const batchRecords = this.batch.records;
    const { offsets, eventTimes } = part;
    for (const record of records) {
      stats.records++;
      if (record.offset <= appliedThrough) {
        stats.alreadyApplied++;
        part.firstPlannedOffset = record.offset + 1;
        continue;
      }
      const event = parseRecord(record, this.routeOf(record), options);
      if (event instanceof Unparsable) {
        stats.quarantined++;
        this.plan.sideRecords.push(sideRecord('quarantine', record, event.reason, event.field));
        continue;
      }
      stats.valid++;
      const index = batchRecords.length;
      batchRecords.push(record);
      offsets.push(record.offset);
      eventTimes.push(event.eventTime);
      const watermark = delayMs !== undefined ? seenMax - delayMs : -Infinity;
      if (event.eventTime > seenMax) seenMax = event.eventTime;
      if (sequences) {
        if (event.eventTime < watermark) {
          this.plan.sequenceLate++;
          // Set aside as windows' late events are, once per record: lateness is the topic's, not a rule's.
          this.plan.sideRecords.push({ ...sideRecord('late', record, sequenceLateReason(event.eventTime, watermark)), pipeline: SEQUENCE_LATE_PIPELINE });
        } else this.plan.sequenceEvents.push({ topic: record.topic, partition: record.partition, offset: record.offset, event });
      }
      const states = this.states;
      for (let p = 0; p < states.length; p++) this.feed(states[p]!, record, event, index, watermark);
    }
  }

  /** The route of a record's topic, switching the pipelines at hand when the partition changes. */
  private routeOf(record: DecodedRecord): TopicRoute | undefined {
    if (this.source === undefined || record.partitionId !== this.source.partitionId) {
      this.source = { partitionId: record.partitionId, topic: record.topic, partition: record.partition };
      if (this.source.topic !== this.topic) {
        this.topic = this.source.topic;
        this.route = this.router.get(this.topic);
        this.states = this.route ? this.statesOf(this.route) : [];
      }
    }
    return this.route;
  }

  private statesOf(route: TopicRoute): PipelineState[] {
    let states = this.statesByRoute.get(route);
    if (!states) {
      states = route.pipelines.map((pipeline) => ({
        pipeline,
        keep: pipeline.keep,
        keepsAll: pipeline.keep === KEEP_ALL,
        keyOf: pipeline.keyOf,
        keepsRejected: pipeline.rejectedAs !== undefined,
        compiled: compiledSlotsOf(pipeline),
        state: this.state,
        // Hopping pipelines store buckets of one advance; their windows are merged at evaluation.
        assigner: new WindowAssigner<Aggregate>(storageSpecOf(pipeline.window)),
      }));
      this.statesByRoute.set(route, states);
    }
    return states;
  }

  /** One valid event through one pipeline: filter, key, assign windows, then late or folded, per window. */
  private feed(ps: PipelineState, record: DecodedRecord, event: TimedEvent, index: number, watermark: number): void {
    const { stats, sideRecords, aggregates } = this.plan;
    const kept = ps.keepsAll || ps.keep(event);
    if (!kept && !ps.keepsRejected) {
      stats.filtered++;
      return;
    }
    const key = ps.keyOf(event);
    if (key === undefined || key === '') {
      stats.quarantined++;
      sideRecords.push(sideRecord('quarantine', record, `pipeline "${ps.pipeline.name}" found no key in the event`));
      return;
    }
    const windows = ps.assigner.assign(event.eventTime);
    let late = false;
    for (let w = 0; w < windows.length; w++) {
      const win = windows[w]!;
      if (win.end <= watermark) {
        // Windows come oldest first, so the late ones lead: one side record names the oldest.
        if (!late) this.late(ps.pipeline, record, key, win, watermark);
        late = true;
        continue;
      }
      let agg = win.keys.get(key);
      if (agg === undefined) {
        agg = new Aggregate(ps, key, win, this.state.slots.reserve(ps.compiled.length), this.source!, record.offset);
        win.keys.set(key, agg);
        aggregates.push(agg);
      }
      agg.add(index, kept, event, this.source!, record.offset);
    }
  }

  private late(pipeline: Pipeline, record: DecodedRecord, key: string, win: BatchWindow<Aggregate>, watermark: number): void {
    this.plan.stats.late++;
    const reason = `window [${win.start}, ${win.end}) of "${pipeline.name}" ended at or before the partition watermark ${watermark} when the event was read`;
    this.plan.sideRecords.push(sideRecord('late', record, reason, undefined, { pipeline: pipeline.name, key, windowStart: win.start }));
  }
}

/** The events of an aggregate, materialised (off the hot path: late, rejected or partial writes). */
export function contributionsOf(agg: WindowAggregate): Contribution[] {
  const family = agg.pipeline.source.family;
  return agg.members.map((m) => {
    const record = agg.batch.records[m >> 1]!;
    return { partitionId: record.partitionId, offset: record.offset, record, event: eventOf(record, family), kept: (m & 1) === 1 };
  });
}

/** Re-folds only the contributions a store has not yet seen (offset above its mark per partition). */
export function refoldAbove(
  agg: WindowAggregate,
  marks: ReadonlyMap<string, number>,
): { delta: SlotDelta; offsets: OffsetRange[]; contributions: Contribution[] } {
  const folder = new DeltaFolder(agg.pipeline);
  const offsets: OffsetRange[] = [];
  const contributions: Contribution[] = [];
  for (const c of contributionsOf(agg)) {
    const mark = marks.get(c.partitionId);
    if (mark !== undefined && c.offset <= mark) continue;
    folder.add(c.event, c.kept);
    extendRange(offsets, c.record);
    contributions.push(c);
  }
  return { delta: folder.delta(), offsets, contributions };
}
