/**
 * When each alert became due, found without asking the system under test: the produced records
 * are replayed in production order through the engine's pure planning and the in-memory stores,
 * one record at a time, and after each one the windows it touched are evaluated. This is a
 * measurement, not the correctness reference (that is local/verify/reference, which shares no
 * code with lib/ on purpose).
 */
import { partitionIdOf, type DecodedRecord } from '../../lib/codec/kafka-event.ts';
import { DEFAULT_MAX_EVENT_AHEAD_MS } from '../../lib/config/ingest-config.ts';
import { ingestBatch, type IngestDeps } from '../../lib/ingest/ingest-batch.ts';
import { planBatch } from '../../lib/ingest/plan.ts';
import { createRouter } from '../../lib/ingest/router.ts';
import type { Pipeline } from '../../lib/pipelines/pipeline.ts';
import { evaluateRules } from '../../lib/rules/evaluate.ts';
import type { Rule } from '../../lib/rules/rule.ts';
import { groupStartOf } from '../../lib/closer/alert-group.ts';
import { windowEndsHolding } from '../../lib/pipelines/window.ts';
import { MemoryBucketReader } from '../../lib/store/memory/bucket-reader.ts';
import { storedWindowOf } from '../../lib/store/memory/memory-tables.ts';
import { memoryStores } from '../../lib/store/memory/index.ts';
import { windowPk } from '../../lib/store/tables.ts';
import { featuresOf, type StoredSlots } from '../../lib/windows/features-of.ts';
import { bucketsOfWindow, mergeBuckets } from '../../lib/windows/merge-buckets.ts';
import { alertKey, type DueRecord, type RecordedAlert } from './latency.ts';

/** The `pipeline` sequence alerts name (lib/sequences/alert.ts). */
const SEQUENCE_PIPELINE = 'sequence';

/** A produced record: what was sent, where it went and when. */
export interface SentRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  /** Kafka timestamp it was produced with, if one was set. */
  timestamp?: number;
  /** Wall-clock ms it was produced. */
  producedAt: number;
  /** Wall-clock ms ingest had applied it (local/latency/applied-log.ts), when known. */
  appliedAt?: number;
  /** Wall-clock ms the first invocation that carried it started, whatever its outcome, when known. */
  invokedAt?: number;
}

export interface TriggerOptions {
  pipelines: readonly Pipeline[];
  rules: readonly Rule[];
  watermarkDelayMs: number;
  /** Partitions per topic: a topic's watermark exists once every one of them has shown an event. */
  partitions: Readonly<Record<string, number>>;
  maxRecordBytes?: number;
  maxEventAheadMs?: number;
}

export interface Triggers {
  /**
   * By alertKey of the alert's group (pipeline, key, group start, rule; lib/closer/alert-group.ts):
   * the record after which the rule first held for a window of the group. For a tumbling window
   * without a cooldown the group start is the window start.
   */
  triggers: Map<string, DueRecord>;
  /**
   * The record an early alert became due with: for a window alert, its group's trigger (the
   * window the record names is whichever of the group fired first, not necessarily the one the
   * replay saw match first); for a sequence alert, its completing event (`firedBy`). Undefined
   * when not known.
   */
  triggerOf(alert: RecordedAlert): DueRecord | undefined;
  /** When a produced record first carried the pipeline's watermark to `windowEnd` or past it. */
  watermarkPassedAt(pipeline: string, windowEnd: number): number | undefined;
  /**
   * When ingest had applied the records that carry the watermark there: the first moment the
   * closer could see it passed. Undefined when not every such record's apply time is known.
   */
  watermarkStoredAt(pipeline: string, windowEnd: number): number | undefined;
}

/** The first of `rise.at` whose watermark is `windowEnd` or past it (the watermarks increase). */
function firstRiseTo(rise: Rise | undefined, windowEnd: number): number | undefined {
  if (!rise) return undefined;
  let lo = 0;
  let hi = rise.watermark.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rise.watermark[mid]! >= windowEnd) hi = mid;
    else lo = mid + 1;
  }
  return lo < rise.at.length ? rise.at[lo] : undefined;
}

/** A partition's max event time after a record, and when ingest had applied that record. */
interface MarkStep {
  topic: string;
  partition: number;
  maxEventTime: number;
  appliedAt: number | undefined;
}

/**
 * The watermark rises in the order ingest applied the records (partitions are applied
 * concurrently, so that order is not production's). A record with an unknown apply time ends the
 * topic's rises there: later ones could not be told apart from it.
 */
function storedRises(steps: readonly MarkStep[], partitions: Readonly<Record<string, number>>, delayMs: number): Map<string, Rise> {
  const byTopic = new Map<string, MarkStep[]>();
  for (const s of steps) {
    let list = byTopic.get(s.topic);
    if (!list) byTopic.set(s.topic, (list = []));
    list.push(s);
  }
  const rises = new Map<string, Rise>();
  for (const [topic, list] of byTopic) {
    const firstUnknown = list.findIndex((s) => s.appliedAt === undefined);
    const known = (firstUnknown < 0 ? list : list.slice(0, firstUnknown)).sort((a, b) => a.appliedAt! - b.appliedAt!);
    const marks = new Map<number, number>();
    const rise: Rise = { at: [], watermark: [] };
    for (const s of known) {
      marks.set(s.partition, Math.max(marks.get(s.partition) ?? -Infinity, s.maxEventTime));
      if (marks.size < (partitions[topic] ?? 1)) continue;
      const watermark = Math.min(...marks.values()) - delayMs;
      if (rise.watermark.length === 0 || watermark > rise.watermark[rise.watermark.length - 1]!) {
        rise.at.push(s.appliedAt!);
        rise.watermark.push(watermark);
      }
    }
    rises.set(topic, rise);
  }
  return rises;
}

/** A topic's watermark as it rose with the produced records: `at[k]` is when it reached `watermark[k]`. */
interface Rise {
  at: number[];
  watermark: number[];
}

/**
 * Replays `records` (in production order) and notes, per (pipeline, key, alert group, rule), the
 * first record after which the rule matched the features of a window of the group (a hopping
 * bucket's windows merged from the key's buckets, as the closer and ingest merge them), and per
 * topic when the watermark (the least partition max event time, minus the delay, as the closer
 * computes it while every partition is active) rose.
 */
export async function findTriggers(records: readonly SentRecord[], o: TriggerOptions): Promise<Triggers> {
  const router = createRouter(o.pipelines);
  const stores = memoryStores({ retentionMs: 3650 * 86_400_000 });
  const options = { maxRecordBytes: o.maxRecordBytes ?? 64 * 1024, maxEventAheadMs: o.maxEventAheadMs ?? DEFAULT_MAX_EVENT_AHEAD_MS, writeConcurrency: 1, watermarkDelayMs: o.watermarkDelayMs };
  const deps: IngestDeps = { router, windows: stores.windows, duePages: stores.duePages, watermarks: stores.watermarks, sideOutput: stores.sideOutput, options };
  const rules = Object.freeze([...o.rules]);
  const ruleById = new Map(rules.map((r) => [r.id, r]));
  const pipelineByName = new Map(o.pipelines.map((p) => [p.name, p]));
  const buckets = new MemoryBucketReader(stores.tables);
  const triggers = new Map<string, DueRecord>();
  const byOffset = new Map<string, DueRecord>();
  const rises = new Map<string, Rise>();
  const topicOf = new Map(o.pipelines.map((p) => [p.name, p.source.topic]));
  const steps: MarkStep[] = [];

  /** Notes `r` as the trigger of every alerting rule that matches a window's features, per group. */
  const judge = (pipeline: Pipeline, key: string, windowStart: number, slots: StoredSlots, r: DueRecord) => {
    for (const rule of evaluateRules(rules, pipeline.name, featuresOf(pipeline, slots)).alerts) {
      const k = alertKey(pipeline.name, key, groupStartOf(rule, pipeline, windowStart), rule.id);
      if (!triggers.has(k)) triggers.set(k, r);
    }
  };

  for (const r of records) {
    const due: DueRecord = { producedAt: r.producedAt, ...(r.invokedAt !== undefined ? { invokedAt: r.invokedAt } : {}) };
    byOffset.set(`${partitionIdOf(r.topic, r.partition)}@${r.offset}`, due);
    // What the mapping would deliver for the record, built directly (no base64 round trip).
    const partitions: DecodedRecord[][] = [
      [{ topic: r.topic, partition: r.partition, offset: r.offset, kafkaTimestamp: r.timestamp ?? -1, key: r.key ?? undefined, value: Buffer.from(r.value, 'utf8'), headers: {}, partitionId: partitionIdOf(r.topic, r.partition) }],
    ];
    const marks = await stores.watermarks.read([{ topic: r.topic, partition: r.partition }]);
    const plan = planBatch(partitions, router, { ...options, lateness: { delayMs: o.watermarkDelayMs, marks } });
    await ingestBatch(partitions, deps);

    for (const agg of plan.aggregates) {
      const item = stores.tables.window(windowPk(agg.pipeline.name, agg.key), agg.windowStart);
      // Absent or closed: the event was late and nothing changed.
      if (!item) continue;
      const { window } = agg.pipeline;
      if (window.kind !== 'hopping') {
        judge(agg.pipeline, agg.key, agg.windowStart, storedWindowOf(item).slots, due);
        continue;
      }
      // A bucket: every window holding it, merged from the key's buckets (as the closer does).
      const b = agg.windowStart;
      const around = await buckets.buckets(agg.pipeline.name, agg.key, b - window.sizeMs + window.advanceMs, b + window.sizeMs - window.advanceMs);
      for (const end of windowEndsHolding(window, b)) {
        const inWindow = bucketsOfWindow(around, end, window.sizeMs, window.advanceMs).map((x) => x.window);
        judge(agg.pipeline, agg.key, end - window.sizeMs, mergeBuckets(agg.pipeline, inWindow), due);
      }
    }

    const byPartition = stores.tables.partitionMarks.get(r.topic);
    const mark = byPartition?.get(r.partition);
    if (mark) steps.push({ topic: r.topic, partition: r.partition, maxEventTime: mark.maxEventTime, appliedAt: r.appliedAt });
    const expected = o.partitions[r.topic] ?? 1;
    if (!byPartition || byPartition.size < expected) continue;
    const watermark = Math.min(...[...byPartition.values()].map((m) => m.maxEventTime)) - o.watermarkDelayMs;
    let rise = rises.get(r.topic);
    if (!rise) rises.set(r.topic, (rise = { at: [], watermark: [] }));
    if (rise.watermark.length === 0 || watermark > rise.watermark[rise.watermark.length - 1]!) {
      rise.at.push(r.producedAt);
      rise.watermark.push(watermark);
    }
  }

  const stored = storedRises(steps, o.partitions, o.watermarkDelayMs);
  return {
    triggers,
    triggerOf(alert) {
      if (alert.pipeline === SEQUENCE_PIPELINE) return alert.firedBy ? byOffset.get(`${alert.firedBy.partitionId}@${alert.firedBy.offset}`) : undefined;
      const rule = ruleById.get(alert.rule);
      const pipeline = pipelineByName.get(alert.pipeline);
      if (!rule || !pipeline) return undefined;
      return triggers.get(alertKey(alert.pipeline, alert.key, groupStartOf(rule, pipeline, alert.windowStart), alert.rule));
    },
    watermarkPassedAt: (pipeline, windowEnd) => firstRiseTo(rises.get(topicOf.get(pipeline) ?? ''), windowEnd),
    watermarkStoredAt: (pipeline, windowEnd) => firstRiseTo(stored.get(topicOf.get(pipeline) ?? ''), windowEnd),
  };
}
