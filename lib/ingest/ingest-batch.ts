/**
 * One batch through the engine: plan (pure), apply every aggregate exactly once, store side
 * records, then raise partition watermarks only as far as the records durably applied.
 */
import pLimit from 'p-limit';
import type { DecodedRecord } from '../codec/kafka-event.ts';
import { RejectedWriteError, TransientStoreError } from '../store/errors.ts';
import type { DuePageStore, SideOutputStore, WatermarkStore, WindowStore } from '../store/ports.ts';
import { applyAggregate, PartlyRejectedWriteError, type ApplyOutcome } from './apply.ts';
import { batchIdOf, duePagesOf, type ListedWindow } from './due-pages.ts';
import type { EarlyAlerts, EarlyBatch } from './early-alerts.ts';
import { contributionsOf, planBatch, type PlanOptions, type WindowAggregate } from './plan.ts';
import { sideRecord, type SideRecord } from './quarantine.ts';
import type { Router } from './router.ts';
import { partitionIdOf } from '../codec/partition-id.ts';
import type { SequenceBatch, SequenceIngest } from '../sequences/ingest.ts';
import { applySequenceKey, readStates, type SequenceKeyBatch } from '../sequences/stage.ts';

export interface IngestDeps {
  router: Router;
  windows: WindowStore;
  /** Where the batch lists the windows it created for the closer (docs/design.md, "Due pages"). */
  duePages: DuePageStore;
  watermarks: WatermarkStore;
  sideOutput: SideOutputStore;
  options: Omit<PlanOptions, 'lateness'> & { writeConcurrency: number; watermarkDelayMs: number };
  /** Told about every transient failure (for logs); the batch carries on. */
  onTransient?: (err: TransientStoreError) => void;
  /** Rules that fire early, evaluated after each window write (absent: alerts are raised at close only). */
  early?: EarlyAlerts;
  /** Sequence rules (absent: none are evaluated). */
  sequences?: SequenceIngest;
}

export interface IngestReport {
  records: number;
  valid: number;
  filtered: number;
  quarantined: number;
  late: number;
  /** Aggregates written (fully or after a partial overlap). */
  windowWrites: number;
  duplicates: number;
  partials: number;
  /** Events whose contribution was already applied by an earlier delivery. */
  skippedEvents: number;
  /** Records at or below their partition's durable mark, skipped unread. */
  alreadyApplied: number;
  /** Due pages written, and the windows they list. */
  duePages: number;
  pagedWindows: number;
  /** Early alert records this batch created (lib/ingest/early-alerts.ts). */
  earlyAlerts: number;
  /** Early alerts not recorded (throttled, failed); the next write or the closer raises them. */
  earlyAlertsFailed: number;
  /** Sequence state items written, sequence alert records created, and events late for sequences. */
  sequenceWrites: number;
  sequenceAlerts: number;
  sequenceLate: number;
  /** Per partition id, the offset to resume from (ReportBatchItemFailures). */
  resumeAt: Map<string, number>;
}

function lowerResume(resumeAt: Map<string, number>, partitionId: string, offset: number): void {
  const current = resumeAt.get(partitionId);
  if (current === undefined || offset < current) resumeAt.set(partitionId, offset);
}

/**
 * Late side records, one per (record, pipeline) as the side output keeps them: an event found late
 * when read and again when its write is refused (a closed window or bucket) is recorded once, under
 * the first window that turned it away, and counted once.
 */
class LateRecords {
  private readonly byId = new Map<string, SideRecord>();

  constructor(
    private readonly sideRecords: SideRecord[],
    private readonly report: IngestReport,
  ) {
    for (const r of sideRecords) if (r.kind === 'late') this.byId.set(LateRecords.id(r), r);
  }

  private static id(r: SideRecord): string {
    return `${r.topic}-${r.partition}@${r.offset}#${r.pipeline}`;
  }

  add(r: SideRecord): void {
    const id = LateRecords.id(r);
    const seen = this.byId.get(id);
    if (seen === undefined) {
      this.byId.set(id, r);
      this.sideRecords.push(r);
      this.report.late++;
    } else if (r.windowStart! < seen.windowStart!) {
      Object.assign(seen, r);
    }
  }
}

/** Counts an aggregate's outcome; late events become side records with their window. */
function tally(report: IngestReport, late: LateRecords, agg: WindowAggregate, outcome: ApplyOutcome): void {
  if (outcome.status === 'applied' || outcome.status === 'partial') report.windowWrites++;
  if (outcome.status === 'partial') report.partials++;
  if (outcome.status === 'duplicate') report.duplicates++;
  if (outcome.status !== 'applied') report.skippedEvents += outcome.skipped;
  if (outcome.status !== 'late') return;
  const reason = `window [${agg.windowStart}, ${agg.windowEnd}) of "${agg.pipeline.name}" was already closed`;
  const window = { pipeline: agg.pipeline.name, key: agg.key, windowStart: agg.windowStart };
  for (const c of outcome.late) late.add(sideRecord('late', c.record, reason, undefined, window));
}

/** `a` and `b` merged, each keeping its order, spread evenly: [a0, b0, a1, a2, b1, ...]. */
export function interleave<T>(a: readonly T[], b: readonly T[]): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Take from whichever list is further behind its share of what is taken so far.
    if (j >= b.length || (i < a.length && i * b.length <= j * a.length)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

function emptyReport(records: number): IngestReport {
  return { records, valid: 0, filtered: 0, quarantined: 0, late: 0, windowWrites: 0, duplicates: 0, partials: 0, skippedEvents: 0, alreadyApplied: 0, duePages: 0, pagedWindows: 0, earlyAlerts: 0, earlyAlertsFailed: 0, sequenceWrites: 0, sequenceAlerts: 0, sequenceLate: 0, resumeAt: new Map() };
}

/** A report that asks for every partition of the batch again from its first record, before any write; rethrows what does not pass. */
function retryWholeBatch(present: DecodedRecord[][], err: unknown, deps: IngestDeps): IngestReport {
  if (!(err instanceof TransientStoreError)) throw err;
  deps.onTransient?.(err);
  const report = emptyReport(present.reduce((n, records) => n + records.length, 0));
  for (const records of present) lowerResume(report.resumeAt, records[0]!.partitionId, records[0]!.offset);
  return report;
}

/** Ingests one batch. Throws only on errors that are neither bad input nor transient. */
export async function ingestBatch(partitions: DecodedRecord[][], deps: IngestDeps): Promise<IngestReport> {
  const present = partitions.filter((records) => records.length > 0);
  let marks: Map<string, { maxEventTime: number; lastOffset: number }>;
  try {
    marks = await deps.watermarks.read(present.map((records) => records[0]!));
  } catch (err) {
    // Lateness cannot be judged without the marks: retry the whole batch from its start.
    return retryWholeBatch(present, err, deps);
  }
  let sequences: SequenceBatch | undefined;
  try {
    sequences = await deps.sequences?.forBatch();
  } catch (err) {
    // As without the early rules: no sequence can be judged, so nothing is written yet.
    return retryWholeBatch(present, err, deps);
  }
  const plan = planBatch(partitions, deps.router, {
    ...deps.options,
    lateness: { delayMs: deps.options.watermarkDelayMs, marks },
    ...(sequences && sequences.topics.size > 0 ? { sequenceTopics: sequences.topics } : {}),
  });
  const report: IngestReport = {
    ...emptyReport(plan.stats.records),
    valid: plan.stats.valid,
    filtered: plan.stats.filtered,
    quarantined: plan.stats.quarantined,
    late: plan.stats.late,
    alreadyApplied: plan.stats.alreadyApplied,
    sequenceLate: plan.sequenceLate,
  };
  const sideRecords: SideRecord[] = [...plan.sideRecords];
  const late = new LateRecords(sideRecords, report);
  const limit = pLimit(deps.options.writeConcurrency);
  // Read once per batch, and only when something is to be written.
  let early: EarlyBatch | undefined;
  try {
    early = plan.aggregates.length > 0 ? await deps.early?.forBatch() : undefined;
  } catch (err) {
    // Without the rules no early alert can be judged: retry the whole batch, as without marks.
    return retryWholeBatch(present, err, deps);
  }
  const tallyEarly = { raised: 0, failed: 0 };
  // For the due pages: what this batch created, and what an earlier delivery of its records
  // wrote (it may have died before listing them). Not a window write that failed: its partition
  // resumes at it, and the redelivery finds it written.
  const listed: ListedWindow[] = [];

  const failAggregate = (agg: WindowAggregate, err: TransientStoreError) => {
    deps.onTransient?.(err);
    for (const range of agg.offsets) lowerResume(report.resumeAt, range.partitionId, range.first);
  };

  // A fatal error stops new writes and surfaces only once in-flight ones settle, so a retried
  // batch never races writes of the invocation that failed.
  let fatal: unknown;
  const failKey = (unit: SequenceKeyBatch, err: TransientStoreError) => {
    deps.onTransient?.(err);
    for (const input of unit.inputs) lowerResume(report.resumeAt, partitionIdOf(unit.group.topic, input.partition), input.offset);
  };
  const keyBatches = sequences && plan.sequenceEvents.length > 0 ? sequences.keyBatches(plan.sequenceEvents) : [];
  // The keys' states are read ahead, all at once, while the window writes start: a key's task
  // then only waits for its chunk's read (usually done by the time it gets a slot) and writes.
  // The reads take no write slot: one request per 100 keys (5 per group for a batch of 500).
  const chunks = keyBatches.length > 0 ? readStates(keyBatches, deps.sequences!.deps.states) : [];
  const sequenceWork = chunks.flatMap((chunk) =>
    chunk.batches.map((unit, i) => async () => {
      if (fatal !== undefined) return;
      try {
        const outcome = await applySequenceKey(unit, deps.sequences!.deps, (await chunk.read)[i]);
        report.sequenceWrites += outcome.writes;
        report.sequenceAlerts += outcome.alerts;
      } catch (err) {
        if (err instanceof TransientStoreError) return failKey(unit, err);
        fatal ??= err;
      }
    }),
  );
  const windowWork = plan.aggregates.map((agg) => async () => {
    if (fatal !== undefined) return;
    try {
      const outcome = await applyAggregate(deps.windows, agg, { returnStored: early?.wants(agg.pipeline) });
      tally(report, late, agg, outcome);
      if ((outcome.status === 'applied' && outcome.created) || outcome.status === 'duplicate' || outcome.status === 'partial') {
        listed.push({ pipeline: agg.pipeline.name, key: agg.key, windowStart: agg.windowStart, windowEnd: agg.windowEnd });
      }
      // After the window write, on what it answered is stored; never fails the aggregate.
      if (early && outcome.stored && outcome.firedBy) await early.raise(agg.pipeline, outcome.stored, outcome.firedBy, tallyEarly);
    } catch (err) {
      if (err instanceof TransientStoreError) return failAggregate(agg, err);
      if (!(err instanceof RejectedWriteError)) {
        fatal ??= err;
        return;
      }
      // A wide aggregate refused in part had its other partitions' events applied: only the refused go.
      const refused = err instanceof PartlyRejectedWriteError ? err.contributions : contributionsOf(agg);
      report.quarantined += refused.length;
      for (const c of refused) sideRecords.push(sideRecord('quarantine', c.record, `storage rejected the window write: ${err.message}`));
    }
  });
  // Interleaved in the slots, so neither kind of early alert waits for all of the other's work.
  await Promise.all(interleave(windowWork, sequenceWork).map((task) => limit(task)));
  if (fatal !== undefined) throw fatal;
  report.earlyAlerts = tallyEarly.raised;
  report.earlyAlertsFailed = tallyEarly.failed;

  // The pages before any mark: a crash or a failed page write leaves the marks where they were, so
  // the redelivery finds these windows written (a duplicate) and lists them again.
  if (listed.length > 0) {
    const pages = duePagesOf(listed, batchIdOf(present));
    try {
      await deps.duePages.put(pages);
      report.duePages = pages.length;
      report.pagedWindows = listed.length;
    } catch (err) {
      if (!(err instanceof TransientStoreError)) throw err;
      deps.onTransient?.(err);
      // Which page failed says nothing of which windows a redelivery must list: every partition
      // resumes at its first record, and its writes are refused as duplicates, which are listed.
      for (const records of present) lowerResume(report.resumeAt, records[0]!.partitionId, records[0]!.offset);
    }
  }

  if (sideRecords.length > 0) {
    try {
      await deps.sideOutput.put(sideRecords);
    } catch (err) {
      if (!(err instanceof TransientStoreError)) throw err;
      deps.onTransient?.(err);
      for (const r of sideRecords) lowerResume(report.resumeAt, partitionIdOf(r.topic, r.partition), r.offset);
    }
  }

  await Promise.all(
    plan.partitions.map(async (part) => {
      const resume = report.resumeAt.get(part.partitionId);
      let maxEventTime = -Infinity;
      for (let i = 0; i < part.offsets.length; i++) {
        if (resume !== undefined && part.offsets[i]! >= resume) break;
        if (part.eventTimes[i]! > maxEventTime) maxEventTime = part.eventTimes[i]!;
      }
      if (maxEventTime === -Infinity) return;
      try {
        await deps.watermarks.advance({ topic: part.topic, partition: part.partition, maxEventTime, lastOffset: resume !== undefined ? resume - 1 : part.lastOffset });
      } catch (err) {
        if (!(err instanceof TransientStoreError)) throw err;
        deps.onTransient?.(err);
        // Redeliver from the first record planned: the lateness of each depends on the mark this
        // write would have raised, and the aggregates dedupe.
        lowerResume(report.resumeAt, part.partitionId, part.firstPlannedOffset);
      }
    }),
  );
  return report;
}
