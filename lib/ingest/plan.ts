/**
 * The pure half of ingest: from decoded records to one pre-aggregated delta per
 * (pipeline, key, window), the side records, and each partition's progress. No I/O.
 *
 * This is the hot loop: per event it allocates nothing beyond the parsed event itself (aggregates
 * remember their events as indexes into the batch, and lookups are by nested maps, not joined keys).
 */
import { valueBytes, type DecodedRecord } from '../codec/kafka-event.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';
import { windowStartOf } from '../pipelines/window.ts';
import type { ParseResult } from '../schemas/family.ts';
import { compileSlots, emptyDelta, foldKept, foldRejected, SlotStore, type CompiledSlots, type SlotDelta } from './fold.ts';
import { sideRecord, type SideRecord } from './quarantine.ts';
import type { Router, TopicRoute } from './router.ts';

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

export interface BatchPlan {
  aggregates: WindowAggregate[];
  sideRecords: SideRecord[];
  partitions: PartitionProgress[];
  stats: { records: number; valid: number; quarantined: number; filtered: number; late: number; alreadyApplied: number };
}

/**
 * What decides lateness when a record is read. A partition's watermark at a record is the greatest
 * event time of the valid records before it in that partition, minus the delay; an event whose
 * window ends at or before it is late for that pipeline. This depends only on the partition's log,
 * never on how batches were cut or when the closer ran, so a redelivery decides exactly as the
 * first delivery did, and a reference computation over the log can decide the same.
 */
export interface Lateness {
  delayMs: number;
  /** Durable partition marks by partition id, read before planning. */
  marks: ReadonlyMap<string, { maxEventTime: number; lastOffset: number }>;
}

export interface PlanOptions {
  /** Values larger than this are quarantined unread. */
  maxRecordBytes: number;
  /** Absent: no event is late at planning (storage still turns away events for closed windows). */
  lateness?: Lateness;
}

/** Why a record cannot be parsed before its value is even read, or undefined. */
function unreadable(record: DecodedRecord, value: Buffer | undefined, route: TopicRoute | undefined, options: PlanOptions): ParseResult<TimedEvent> | undefined {
  if (!route) return { ok: false, reason: `no pipeline reads topic "${record.topic}"`, field: undefined };
  if (value === undefined) return { ok: false, reason: 'record has no value (tombstone)', field: 'value' };
  if (value.length > options.maxRecordBytes) {
    return { ok: false, reason: `value is ${value.length} bytes, over the ${options.maxRecordBytes}-byte limit`, field: 'value' };
  }
  return undefined;
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

/** Per-batch storage the aggregates share: slot values, and members as linked lists in flat arrays. */
class PlanState {
  readonly slots = new SlotStore();
  /** Member values (event index * 2 + kept) and the next member of the same aggregate (-1: none). */
  readonly memberValue: number[] = [];
  readonly memberNext: number[] = [];
  constructor(readonly batch: BatchEvents) {}
}

/** One pipeline of a route, with what the loop needs of it at hand. */
interface PipelineState {
  pipeline: Pipeline;
  keep: (event: TimedEvent) => boolean;
  keyOf: (event: TimedEvent) => string | undefined;
  keepsRejected: boolean;
  window: Pipeline['window'];
  compiled: CompiledSlots;
  state: PlanState;
  /** Aggregates by window start, then key; the last window used is at hand (a batch is mostly one or two). */
  windows: Map<number, Map<string, Aggregate>>;
  lastWindowStart: number;
  lastKeys: Map<string, Aggregate> | undefined;
}

/** What an aggregate builds when first read, after planning. */
interface Built {
  delta: SlotDelta | undefined;
  offsets: OffsetRange[] | undefined;
  members: number[] | undefined;
}

/**
 * A WindowAggregate folded inline, small (it is one of ~0.5 per event and lives for the batch):
 * its delta, offsets and members are built from the shared PlanState when first read.
 */
class Aggregate implements WindowAggregate {
  events = 0;
  rejected = 0;
  head = -1;
  tail = -1;
  private built: Built | undefined = undefined;

  constructor(
    private readonly ps: PipelineState,
    readonly key: string,
    readonly windowStart: number,
    private readonly base: number,
  ) {}

  get pipeline(): Pipeline {
    return this.ps.pipeline;
  }

  get windowEnd(): number {
    return this.windowStart + this.ps.window.sizeMs;
  }

  get batch(): BatchEvents {
    return this.ps.state.batch;
  }

  private get cache(): Built {
    return (this.built ??= { delta: undefined, offsets: undefined, members: undefined });
  }

  get delta(): SlotDelta {
    const cache = this.cache;
    return (cache.delta ??= this.ps.state.slots.deltaAt(this.ps.compiled, this.base, this.events, this.rejected));
  }

  get members(): number[] {
    const cache = this.cache;
    if (cache.members === undefined) {
      const members: number[] = [];
      const { memberValue, memberNext } = this.ps.state;
      for (let m = this.head; m !== -1; m = memberNext[m]!) members.push(memberValue[m]!);
      cache.members = members;
    }
    return cache.members;
  }

  get offsets(): OffsetRange[] {
    const cache = this.cache;
    if (cache.offsets === undefined) {
      const offsets: OffsetRange[] = [];
      const records = this.batch.records;
      for (const m of this.members) extendRange(offsets, records[m >> 1]!);
      cache.offsets = offsets;
    }
    return cache.offsets;
  }

  /** Adds the member; `kept` events are folded into the slots, others counted as rejected. */
  add(index: number, kept: boolean, event: TimedEvent): void {
    const state = this.ps.state;
    this.events++;
    if (kept) state.slots.fold(this.ps.compiled, this.base, event);
    else this.rejected++;
    const m = state.memberValue.length;
    state.memberValue.push(index * 2 + (kept ? 1 : 0));
    state.memberNext.push(-1);
    if (this.tail === -1) this.head = m;
    else state.memberNext[this.tail] = m;
    this.tail = m;
  }
}

/**
 * Plans a batch: validates each record once, routes it to every pipeline of its topic, and folds
 * it into its (pipeline, key, window) aggregate. Bad records become side records; nothing throws.
 */
export function planBatch(partitions: DecodedRecord[][], router: Router, options: PlanOptions): BatchPlan {
  const batch: BatchEvents = { records: [], events: [] };
  const state = new PlanState(batch);
  const statesByRoute = new Map<TopicRoute, PipelineState[]>();
  const aggregates: WindowAggregate[] = [];
  const sideRecords: SideRecord[] = [];
  const progress: PartitionProgress[] = [];
  const stats = { records: 0, valid: 0, quarantined: 0, filtered: 0, late: 0, alreadyApplied: 0 };
  const judgeLateness = options.lateness !== undefined;
  const delayMs = options.lateness?.delayMs ?? 0;
  const statesOf = (route: TopicRoute): PipelineState[] => {
    let states = statesByRoute.get(route);
    if (!states) {
      states = route.pipelines.map((pipeline) => ({
        pipeline,
        keep: pipeline.keep,
        keyOf: pipeline.keyOf,
        keepsRejected: pipeline.rejectedAs !== undefined,
        window: pipeline.window,
        compiled: compileSlots(pipeline),
        state,
        windows: new Map(),
        lastWindowStart: NaN,
        lastKeys: undefined,
      }));
      statesByRoute.set(route, states);
    }
    return states;
  };

  let topic: string | undefined;
  let route: TopicRoute | undefined;
  let states: PipelineState[] = [];
  for (const records of partitions) {
    if (records.length === 0) continue;
    const head = records[0]!;
    const mark = options.lateness?.marks.get(head.partitionId);
    // Records at or below the mark were fully applied by an earlier delivery: nothing to redo.
    const appliedThrough = mark?.lastOffset ?? -1;
    let seenMax = mark?.maxEventTime ?? -Infinity;
    const part: PartitionProgress = {
      topic: head.topic,
      partition: head.partition,
      partitionId: head.partitionId,
      firstOffset: head.offset,
      firstPlannedOffset: head.offset,
      lastOffset: records[records.length - 1]!.offset,
      offsets: [],
      eventTimes: [],
    };
    progress.push(part);

    for (const record of records) {
      stats.records++;
      if (record.offset <= appliedThrough) {
        stats.alreadyApplied++;
        part.firstPlannedOffset = record.offset + 1;
        continue;
      }
      if (record.topic !== topic) {
        topic = record.topic;
        route = router.get(topic);
        states = route ? statesOf(route) : [];
      }
      let event: TimedEvent | undefined;
      // Read once and not kept: the record decodes it again if a side record needs it.
      const value = route ? valueBytes(record) : undefined;
      let failed = unreadable(record, value, route, options);
      if (failed === undefined) {
        let json: unknown;
        try {
          json = JSON.parse(value!.toString('utf8'));
        } catch (err) {
          json = undefined;
          failed = { ok: false, reason: `invalid JSON: ${(err as Error).message}`, field: 'value' };
        }
        if (failed === undefined) {
          event = route!.family.parseFast(json);
          if (event === undefined) {
            const parsed = route!.family.parseSlow(json);
            if (parsed.ok) event = parsed.event;
            else failed = parsed;
          }
        }
      }
      if (event === undefined) {
        stats.quarantined++;
        const f = failed as { reason: string; field: string | undefined };
        sideRecords.push(sideRecord('quarantine', record, f.reason, f.field));
        continue;
      }
      stats.valid++;
      const index = batch.events.length;
      batch.events.push(event);
      batch.records.push(record);
      part.offsets.push(record.offset);
      part.eventTimes.push(event.eventTime);
      const watermark = judgeLateness ? seenMax - delayMs : -Infinity;
      if (event.eventTime > seenMax) seenMax = event.eventTime;

      for (let p = 0; p < states.length; p++) {
        const ps = states[p]!;
        const kept = ps.keep(event);
        if (!kept && !ps.keepsRejected) {
          stats.filtered++;
          continue;
        }
        const key = ps.keyOf(event);
        if (key === undefined || key === '') {
          stats.quarantined++;
          sideRecords.push(sideRecord('quarantine', record, `pipeline "${ps.pipeline.name}" found no key in the event`));
          continue;
        }
        const windowStart = windowStartOf(ps.window, event.eventTime);
        if (windowStart + ps.window.sizeMs <= watermark) {
          stats.late++;
          sideRecords.push(
            sideRecord('late', record, `window [${windowStart}, ${windowStart + ps.window.sizeMs}) of "${ps.pipeline.name}" ended at or before the partition watermark ${watermark} when the event was read`, undefined, {
              pipeline: ps.pipeline.name,
              key,
              windowStart,
            }),
          );
          continue;
        }
        let keys = ps.lastKeys;
        if (windowStart !== ps.lastWindowStart || keys === undefined) {
          keys = ps.windows.get(windowStart);
          if (keys === undefined) ps.windows.set(windowStart, (keys = new Map()));
          ps.lastKeys = keys;
          ps.lastWindowStart = windowStart;
        }
        let agg = keys.get(key);
        if (agg === undefined) {
          agg = new Aggregate(ps, key, windowStart, state.slots.reserve(ps.compiled.length));
          keys.set(key, agg);
          aggregates.push(agg);
        }
        agg.add(index, kept, event);
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
