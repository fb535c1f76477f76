/**
 * The fold step of planning (lib/ingest/plan.ts): what a batch adds to one (pipeline, key, window),
 * folded event by event into storage the batch's aggregates share, so an aggregate is small and
 * adding an event to it allocates nothing (arrays grow amortised).
 */
import type { DecodedRecord } from '../codec/kafka-event.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';
import { SlotStore, type CompiledSlots, type SlotDelta } from './fold.ts';
import type { TimedEvent } from './parse.ts';

/** The valid events of a batch, by index, as the records they came from (see eventOf). */
export interface BatchEvents {
  records: DecodedRecord[];
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

/** Where an aggregate's offsets come from: one per partition id met in the batch. */
export interface RangeSource {
  partitionId: string;
  topic: string;
  partition: number;
}

/** Records of a partition arrive in offset order, so a range only ever grows at its end. */
export function extendRange(ranges: OffsetRange[], record: DecodedRecord): void {
  for (const range of ranges) {
    if (range.partitionId === record.partitionId) {
      range.last = record.offset;
      return;
    }
  }
  ranges.push({ partitionId: record.partitionId, topic: record.topic, partition: record.partition, first: record.offset, last: record.offset });
}

/** Per-batch storage the aggregates share: slot values, and members as linked lists in flat arrays. */
export class PlanState {
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

/** What the aggregates of one pipeline share: the pipeline, its compiled slots, the batch's storage. */
export interface PipelineFold {
  pipeline: Pipeline;
  compiled: CompiledSlots;
  state: PlanState;
}

/**
 * A WindowAggregate folded inline, small (it is one of ~0.5-1 per event and window, and lives for
 * the batch): it keeps its offset range per partition as it goes (the first partition's inline),
 * and builds its delta, offsets and members from the shared PlanState when read, keeping none.
 */
export class Aggregate implements WindowAggregate {
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
    private readonly fold: PipelineFold,
    readonly key: string,
    private readonly window: { start: number; end: number },
    private readonly base: number,
    source: RangeSource,
    offset: number,
  ) {
    this.source = source;
    this.first = offset;
    this.last = offset;
  }

  get pipeline(): Pipeline {
    return this.fold.pipeline;
  }

  get windowStart(): number {
    return this.window.start;
  }

  get windowEnd(): number {
    return this.window.end;
  }

  get batch(): BatchEvents {
    return this.fold.state.batch;
  }

  get delta(): SlotDelta {
    return this.fold.state.slots.deltaAt(this.fold.compiled, this.base, this.events, this.rejected);
  }

  get members(): number[] {
    const members: number[] = [];
    const { memberValue, memberNext } = this.fold.state;
    for (let m = this.head; m !== -1; m = memberNext[m]!) members.push(memberValue[m]!);
    return members;
  }

  get offsets(): OffsetRange[] {
    const s = this.source;
    const offsets: OffsetRange[] = [{ partitionId: s.partitionId, topic: s.topic, partition: s.partition, first: this.first, last: this.last }];
    const { rangeSource, rangeFirst, rangeLast, rangeNext } = this.fold.state;
    for (let r = this.moreHead; r !== -1; r = rangeNext[r]!) {
      const rs = rangeSource[r]!;
      offsets.push({ partitionId: rs.partitionId, topic: rs.topic, partition: rs.partition, first: rangeFirst[r]!, last: rangeLast[r]! });
    }
    return offsets;
  }

  /** Adds the member; `kept` events are folded into the slots, others counted as rejected. */
  add(index: number, kept: boolean, event: TimedEvent, source: RangeSource, offset: number): void {
    const state = this.fold.state;
    this.events++;
    if (kept) state.slots.fold(this.fold.compiled, this.base, event);
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
    const { rangeSource, rangeFirst, rangeLast, rangeNext } = this.fold.state;
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
