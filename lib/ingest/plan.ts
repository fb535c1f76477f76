/**
 * The pure half of ingest: from decoded records to one pre-aggregated delta per
 * (pipeline, key, window), the side records, and each partition's progress. No I/O.
 *
 * This is the hot loop: per event it allocates nothing beyond the parsed event itself (aggregates
 * remember their events as indexes into the batch, and lookups are by nested maps, not joined keys).
 * Nor does the batch keep the parsed events: what outlives an event is its slot values (folded),
 * its offset (in its aggregates' ranges and members) and its record, which decodes it again in the
 * rare cases that need the event itself (contributionsOf: partial overlaps, late or rejected writes).
 */
import { UNREADABLE, ValueReader, valueBytes, valueText, type DecodedRecord } from '../codec/kafka-event.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';
import { windowStartOf } from '../pipelines/window.ts';
import type { ParseResult } from '../schemas/family.ts';
import type { EventFamily } from '../schemas/family.ts';
import { compiledSlotsOf, emptyDelta, foldKept, foldRejected, SlotStore, type CompiledSlots, type SlotDelta } from './fold.ts';
import { sideRecord, type SideRecord } from './quarantine.ts';
import type { Router, TopicRoute } from './router.ts';

type TimedEvent = { eventTime: number };

/** The valid events of a batch, by index, as the records they came from (see eventOf). */
export interface BatchEvents {
  records: DecodedRecord[];
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
  /**
   * How far an event's time may be ahead of its record's Kafka timestamp (ms); an event further
   * ahead is quarantined and moves no watermark. Absent: no bound (records without a Kafka
   * timestamp are never bounded).
   */
  maxEventAheadMs?: number;
  /** Absent: no event is late at planning (storage still turns away events for closed windows). */
  lateness?: Lateness;
}

/** Why a record cannot be parsed before its value (of `size` bytes, -1: none) is even parsed, or undefined. */
function unreadable(record: DecodedRecord, size: number, route: TopicRoute | undefined, options: PlanOptions): ParseResult<TimedEvent> | undefined {
  if (record.envelopeError !== undefined) return { ok: false, reason: record.envelopeError, field: 'value' };
  if (!route) return { ok: false, reason: `no pipeline reads topic "${record.topic}"`, field: undefined };
  if (size === UNREADABLE.base64) return { ok: false, reason: 'value is not valid base64 (padded, standard alphabet)', field: 'value' };
  if (size < 0) return { ok: false, reason: 'record has no value (tombstone)', field: 'value' };
  if (size > options.maxRecordBytes) {
    return { ok: false, reason: `value is ${size} bytes, over the ${options.maxRecordBytes}-byte limit`, field: 'value' };
  }
  return undefined;
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

/**
 * Why an event is too far in the future to trust, or undefined. Judged against the record's own
 * Kafka timestamp, never the clock, so every delivery of the record decides alike.
 */
function tooFarAhead(record: DecodedRecord, eventTime: number, maxAheadMs: number): ParseResult<TimedEvent> | undefined {
  const kafkaTime = record.kafkaTimestamp;
  if (kafkaTime < 0 || !(eventTime > kafkaTime + maxAheadMs)) return undefined;
  return {
    ok: false,
    reason: `event time ${isoOf(eventTime)} is ${durationOf(eventTime - kafkaTime)} ahead of the record's Kafka timestamp ${isoOf(kafkaTime)}, more than the ${maxAheadMs} ms allowed (MAX_EVENT_AHEAD_MS)`,
    field: undefined,
  };
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

/**
 * A valid record's event, parsed again from its value (parsing is pure, so this is the event the
 * planner folded): for the rare paths that need it, so the batch need not keep every event.
 */
function eventOf(record: DecodedRecord, family: EventFamily<TimedEvent>): TimedEvent {
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

/** Where an aggregate's offsets come from: one per partition id met in the batch. */
interface RangeSource {
  partitionId: string;
  topic: string;
  partition: number;
}

/** Per-batch storage the aggregates share: slot values, and members as linked lists in flat arrays. */
class PlanState {
  readonly slots: SlotStore;
  /** Member values (event index * 2 + kept) and the next member of the same aggregate (-1: none). */
  readonly memberValue: number[] = [];
  readonly memberNext: number[] = [];
  /** Offset ranges of aggregates beyond their first partition, as linked lists (-1: none). */
  readonly rangeSource: RangeSource[] = [];
  readonly rangeFirst: number[] = [];
  readonly rangeLast: number[] = [];
  readonly rangeNext: number[] = [];
  constructor(
    readonly batch: BatchEvents,
    slotCapacity: number,
  ) {
    this.slots = new SlotStore(slotCapacity);
  }
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
  /** Aggregates by window, then key; the last window used is at hand (a batch is mostly one or two). */
  windows: Map<number, WindowKeys>;
  lastWindow: WindowKeys | undefined;
}

/** One window of one pipeline in a batch: its start (shared by its aggregates) and its aggregates by key. */
interface WindowKeys {
  start: number;
  /** start + size, when the window may be found by comparing an event time with it; else -Infinity. */
  end: number;
  keys: Map<string, Aggregate>;
}

/**
 * A WindowAggregate folded inline, small (it is one of ~0.5-1 per event and lives for the batch):
 * it keeps its offset range per partition as it goes (the first partition's inline), and builds
 * its delta, offsets and members from the shared PlanState when read, keeping none of them.
 */
class Aggregate implements WindowAggregate {
  events = 0;
  rejected = 0;
  head = -1;
  tail = -1;
  /** The first partition's range. */
  source: RangeSource;
  first: number;
  last: number;
  /** Ranges of further partitions, in the order first met: head and tail of a list in PlanState (-1: none). */
  moreHead = -1;
  moreTail = -1;

  constructor(
    private readonly ps: PipelineState,
    readonly key: string,
    private readonly window: WindowKeys,
    private readonly base: number,
    source: RangeSource,
    offset: number,
  ) {
    this.source = source;
    this.first = offset;
    this.last = offset;
  }

  get pipeline(): Pipeline {
    return this.ps.pipeline;
  }

  get windowStart(): number {
    return this.window.start;
  }

  get windowEnd(): number {
    return this.window.start + this.ps.window.sizeMs;
  }

  get batch(): BatchEvents {
    return this.ps.state.batch;
  }

  get delta(): SlotDelta {
    return this.ps.state.slots.deltaAt(this.ps.compiled, this.base, this.events, this.rejected);
  }

  get members(): number[] {
    const members: number[] = [];
    const { memberValue, memberNext } = this.ps.state;
    for (let m = this.head; m !== -1; m = memberNext[m]!) members.push(memberValue[m]!);
    return members;
  }

  get offsets(): OffsetRange[] {
    const s = this.source;
    const offsets: OffsetRange[] = [{ partitionId: s.partitionId, topic: s.topic, partition: s.partition, first: this.first, last: this.last }];
    const { rangeSource, rangeFirst, rangeLast, rangeNext } = this.ps.state;
    for (let r = this.moreHead; r !== -1; r = rangeNext[r]!) {
      const rs = rangeSource[r]!;
      offsets.push({ partitionId: rs.partitionId, topic: rs.topic, partition: rs.partition, first: rangeFirst[r]!, last: rangeLast[r]! });
    }
    return offsets;
  }

  /** Adds the member; `kept` events are folded into the slots, others counted as rejected. */
  add(index: number, kept: boolean, event: TimedEvent, source: RangeSource, offset: number): void {
    const state = this.ps.state;
    this.events++;
    if (kept) state.slots.fold(this.ps.compiled, this.base, event);
    else this.rejected++;
    // As extendRange: records of a partition arrive in offset order, so a range only grows at its end.
    if (source === this.source || source.partitionId === this.source.partitionId) this.last = offset;
    else this.extendMore(source, offset);
    const m = state.memberValue.length;
    state.memberValue.push(index * 2 + (kept ? 1 : 0));
    state.memberNext.push(-1);
    if (this.tail === -1) this.head = m;
    else state.memberNext[this.tail] = m;
    this.tail = m;
  }

  private extendMore(source: RangeSource, offset: number): void {
    const { rangeSource, rangeFirst, rangeLast, rangeNext } = this.ps.state;
    for (let r = this.moreHead; r !== -1; r = rangeNext[r]!) {
      if (rangeSource[r]!.partitionId === source.partitionId) {
        rangeLast[r] = offset;
        return;
      }
    }
    const r = rangeSource.length;
    rangeSource.push(source);
    rangeFirst.push(offset);
    rangeLast.push(offset);
    rangeNext.push(-1);
    if (this.moreTail === -1) this.moreHead = r;
    else rangeNext[this.moreTail] = r;
    this.moreTail = r;
  }
}

/**
 * Plans a batch: validates each record once, routes it to every pipeline of its topic, and folds
 * it into its (pipeline, key, window) aggregate. Bad records become side records; nothing throws.
 */
export function planBatch(partitions: DecodedRecord[][], router: Router, options: PlanOptions): BatchPlan {
  const batch: BatchEvents = { records: [] };
  let total = 0;
  for (const records of partitions) total += records.length;
  // Slots: a few per aggregate, about one aggregate per event and pipeline; the store grows if short.
  const state = new PlanState(batch, Math.max(128, total * 6));
  const statesByRoute = new Map<TopicRoute, PipelineState[]>();
  const aggregates: WindowAggregate[] = [];
  const sideRecords: SideRecord[] = [];
  const progress: PartitionProgress[] = [];
  const stats = { records: 0, valid: 0, quarantined: 0, filtered: 0, late: 0, alreadyApplied: 0 };
  const judgeLateness = options.lateness !== undefined;
  const maxAheadMs = options.maxEventAheadMs;
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
        compiled: compiledSlotsOf(pipeline),
        state,
        windows: new Map(),
        lastWindow: undefined,
      }));
      statesByRoute.set(route, states);
    }
    return states;
  };

  let topic: string | undefined;
  let route: TopicRoute | undefined;
  let states: PipelineState[] = [];
  /** The partition of the records at hand: a record of another starts a new source (and may change topic). */
  let source: RangeSource | undefined;
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
      if (source === undefined || record.partitionId !== source.partitionId) {
        source = { partitionId: record.partitionId, topic: record.topic, partition: record.partition };
        if (source.topic !== topic) {
          topic = source.topic;
          route = router.get(topic);
          states = route ? statesOf(route) : [];
        }
      }
      let event: TimedEvent | undefined;
      // Read once and not kept: the record decodes it again if a side record needs it.
      const size = route && record.envelopeError === undefined ? reader.read(record) : -1;
      let failed = unreadable(record, size, route, options);
      if (failed === undefined) {
        let json: unknown;
        const text = reader.text();
        // U+FFFD is what decoding makes of invalid bytes; only then is the check needed (and a
        // one-byte string, most values, cannot hold it, so the search is free).
        if (text.indexOf('\ufffd') !== -1 && !reader.isUtf8()) {
          failed = { ok: false, reason: 'value is not valid UTF-8', field: 'value' };
        } else {
          try {
            json = JSON.parse(text);
          } catch (err) {
            json = undefined;
            failed = { ok: false, reason: `invalid JSON: ${(err as Error).message}`, field: 'value' };
          }
        }
        if (failed === undefined) {
          event = route!.family.parseFast(json);
          if (event === undefined) {
            const parsed = route!.family.parseSlow(json);
            if (parsed.ok) event = parsed.event;
            else failed = parsed;
          }
        }
        if (event !== undefined && maxAheadMs !== undefined) {
          failed = tooFarAhead(record, event.eventTime, maxAheadMs);
          if (failed !== undefined) event = undefined;
        }
      }
      if (event === undefined) {
        stats.quarantined++;
        const f = failed as { reason: string; field: string | undefined };
        sideRecords.push(sideRecord('quarantine', record, f.reason, f.field));
        continue;
      }
      stats.valid++;
      const index = batch.records.length;
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
        const t = event.eventTime;
        let win = ps.lastWindow;
        // In the last window used (the common case), its start is what windowStartOf would compute:
        // for a whole number of ms in the safe range, that arithmetic is exact.
        const windowStart =
          win !== undefined && t >= win.start && t < win.end && Math.floor(t) === t && t <= Number.MAX_SAFE_INTEGER ? win.start : windowStartOf(ps.window, t);
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
        if (win === undefined || win.start !== windowStart) {
          win = ps.windows.get(windowStart);
          if (win === undefined) {
            // Only an aligned, positive, safe whole start serves as a shortcut; any other always computes.
            const size = ps.window.sizeMs;
            const exact = windowStart > 0 && Number.isSafeInteger(windowStart + size) && windowStart % size === 0;
            ps.windows.set(windowStart, (win = { start: windowStart, end: exact ? windowStart + size : -Infinity, keys: new Map() }));
          }
          ps.lastWindow = win;
        }
        let agg = win.keys.get(key);
        if (agg === undefined) {
          agg = new Aggregate(ps, key, win, state.slots.reserve(ps.compiled.length), source, record.offset);
          win.keys.set(key, agg);
          aggregates.push(agg);
        }
        agg.add(index, kept, event, source, record.offset);
      }
    }
  }
  return { aggregates, sideRecords, partitions: progress, stats };
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
