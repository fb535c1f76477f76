/**
 * Section `writes`: DynamoDB write requests and write capacity units per event, counted as sent to
 * DynamoDB Local, for the default and the skewed workload cut into batches of 500 per topic:
 * - streamguard: the real ingest (lib/ingest) through a counting client;
 * - (a) one atomic-counter UpdateItem per event per pipeline (bench/naive.ts);
 * - (b) the Powertools idempotency pattern (bench/naive.ts).
 * Then one closer pass over our windows of the first 1,000 events of the default workload, counted
 * the same way: its cost per window is the same for every design (they keep the same window items),
 * and the cost section uses it.
 * Then the registrations pipeline alone as tumbling(10 min) and as hopping(10 min every 1 min),
 * side by side (REGISTRATION_VARIANTS): window-table WCU per event and the closer's units per
 * evaluated window, the figures issue #14's 1.5x target is on.
 */
import { encodeKafkaEvent, type RecordInput } from '../lib/codec/encode.ts';
import { decodeKafkaEvent } from '../lib/codec/kafka-event.ts';
import { closeWindows } from '../lib/closer/close-windows.ts';
import { loadIngestConfig } from '../lib/config/ingest-config.ts';
import { ingestBatch } from '../lib/ingest/ingest-batch.ts';
import { planBatch } from '../lib/ingest/plan.ts';
import { createRouter } from '../lib/ingest/router.ts';
import { wireIngest } from '../lib/ingest/wire.ts';
import { builtinPipelines, registrationsPerIp } from '../lib/pipelines/builtin.ts';
import type { Pipeline } from '../lib/pipelines/pipeline.ts';
import { USER_REGISTRATIONS } from '../lib/pipelines/topics.ts';
import { hopping, minutes, tumbling, type WindowSpec } from '../lib/pipelines/window.ts';
import { resultPipelinesOf } from '../lib/rules/defaults.ts';
import { wireRules } from '../lib/rules/wire.ts';
import { DynamoAlertStore } from '../lib/store/dynamodb/alert-store.ts';
import { DynamoCloserStore } from '../lib/store/dynamodb/closer-store.ts';
import type { TableTally } from './capacity.ts';
import type { BenchContext } from './context.ts';
import { PLAN_OPTIONS } from './paths.ts';
import { applyAtomicCounters, applyIdempotentRecords, naiveRecords } from './naive.ts';
import { ratio } from './stats.ts';
import { topicBatches, workload, WORKLOADS, type KeyDistribution } from './workload.ts';

const router = createRouter(builtinPipelines);
const WRITE_CONCURRENCY = 32;

export interface DesignFigures {
  design: 'streamguard' | 'atomic-counter' | 'powertools-idempotency';
  writeRequests: number;
  writeUnits: number;
  /** Of writeUnits: the due index's share. */
  indexWriteUnits: number;
  readRequests: number;
  readUnits: number;
  writeRequestsPerEvent: number;
  writeUnitsPerEvent: number;
  readUnitsPerEvent: number;
  seconds: number;
  /** Breakdown by table role and command. */
  detail: Record<string, number>;
}

/**
 * The default sequence rule (new-device-payment) on top of the window pipelines: the same batches
 * ingested again with the alerts table configured (so sequence rules run), the difference on the
 * state table being the sequence state's cost (watermark writes are the same in both runs).
 */
export interface SequenceWrites {
  rule: string;
  stateWriteRequests: number;
  stateWriteUnits: number;
  stateReadUnits: number;
  /** Sequence alerts recorded; each is one conditional put of an item under 1 KB (1 WCU). */
  alerts: number;
  /** Sequence state and alert write units per event of the workload (every topic's). */
  writeUnitsPerEvent: number;
  /** Per user_events event, the only topic the rule reads. */
  writeUnitsPerUserEvent: number;
  /** Window pipelines plus the sequence rule, per event. */
  totalWriteUnitsPerEvent: number;
}

export interface WorkloadWrites {
  workload: KeyDistribution;
  /** The default sequence rule's cost beside the window pipelines' (absent when not measured). */
  sequence?: SequenceWrites;
  events: number;
  batchSize: number;
  batches: number;
  /** Events each pipeline receives, summed: what a per-event design writes. */
  eventPipelineFeeds: number;
  /** Planned in process: aggregates (distinct (pipeline, key, window) per batch) and partitions per batch. */
  plannedAggregates: number;
  plannedPartitionBatches: number;
  /** Window writes beyond one per aggregate: what idempotency costs us in extra requests. */
  idempotencyExtraWrites: number;
  designs: DesignFigures[];
  /** (a) requests / ours, (b) requests / ours: targets >= 5 and >= 10 on the skewed workload. */
  fewerWritesThanAtomic: number;
  fewerWritesThanPowertoolsAsBriefed: number;
  fewerWritesThanPowertoolsFull: number;
  fewerUnitsThanAtomic: number;
  fewerUnitsThanPowertoolsFull: number;
}

export interface CloserFigures {
  windowsClosed: number;
  alerts: number;
  seconds: number;
  windowsClosedPerSec: number;
  writeRequests: number;
  writeUnits: number;
  readRequests: number;
  readUnits: number;
  writeUnitsPerWindow: number;
  readUnitsPerWindow: number;
  writeRequestsPerWindow: number;
  writeUnitsPerEvaluatedWindow: number;
  readUnitsPerEvaluatedWindow: number;
}

function figures(design: DesignFigures['design'], t: TableTally, events: number, seconds: number, detail: Record<string, number>): DesignFigures {
  return {
    design,
    writeRequests: t.writeRequests,
    writeUnits: t.writeUnits,
    indexWriteUnits: t.indexWriteUnits,
    readRequests: t.readRequests,
    readUnits: t.readUnits,
    writeRequestsPerEvent: ratio(t.writeRequests, events, 4),
    writeUnitsPerEvent: ratio(t.writeUnits, events, 4),
    readUnitsPerEvent: ratio(t.readUnits, events, 4),
    seconds: ratio(seconds, 1, 1),
    detail,
  };
}

export interface WritesOptions {
  events: number;
  batchSize: number;
  workloads?: readonly KeyDistribution[];
  /** Run one closer pass over our windows of the default workload (for the cost section). */
  closer?: boolean;
  /** Events of the default workload ingested for the closer pass (default 1,000: it closes every window they make). */
  closerEvents?: number;
  /** Measure the registrations pipeline as tumbling and as hopping side by side (default true). */
  variants?: boolean;
  /** Measure the default sequence rule too (default true). */
  sequences?: boolean;
}

export async function benchWrites(ctx: BenchContext, o: WritesOptions) {
  const rows: WorkloadWrites[] = [];
  let closer: CloserFigures | undefined;
  for (const distribution of o.workloads ?? WORKLOADS) {
    const records = workload({ events: o.events, distribution });
    const batches = [...topicBatches(records, o.batchSize)].map((b) => encodeKafkaEvent(b));
    let plannedAggregates = 0;
    let plannedPartitionBatches = 0;
    let eventPipelineFeeds = 0;
    for (const b of batches) {
      const plan = planBatch(decodeKafkaEvent(b), router, PLAN_OPTIONS);
      plannedAggregates += plan.aggregates.length;
      plannedPartitionBatches += plan.partitions.length;
      for (const a of plan.aggregates) eventPipelineFeeds += a.delta.events * a.pipeline.window.perEvent; // a per-event design writes every window of a hopping pipeline
    }

    // streamguard
    const tables = await ctx.freshTables(`ours-${distribution}`);
    const ours = ctx.countingClient();
    const deps = wireIngest(ours.client, loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput }));
    let t = performance.now();
    let duePageWrites = 0;
    for (const b of batches) {
      const report = await ingestBatch(decodeKafkaEvent(b), deps);
      if (report.resumeAt.size > 0) throw new Error(`ingest reported transient failures on ${[...report.resumeAt.keys()].join(', ')}`);
      duePageWrites += report.duePages;
    }
    const oursSeconds = (performance.now() - t) / 1000;
    const windowsTally = ours.tally.table(tables.windows);
    const oursFig = figures('streamguard', ours.tally.total(), records.length, oursSeconds, {
      // Of the windows table's writes: the due pages (docs/design.md, "Due pages").
      windowWrites: windowsTally.writeRequests - duePageWrites,
      duePageWrites,
      watermarkWrites: ours.tally.table(tables.state).writeRequests,
      sideOutputWrites: ours.tally.table(tables.sideOutput).writeRequests,
      failedConditionalWrites: ours.tally.total().failedConditionalWrites,
      batchGetItem: ours.counts.BatchGetItemCommand ?? 0,
    });

    ours.client.destroy();
    const sequence = o.sequences === false ? undefined : await sequenceSample(ctx, distribution, batches, records, ours.tally.table(tables.state).writeUnits, oursFig.writeUnits);
    if (o.closer !== false && distribution === 'uniform') closer = await closerSample(ctx, records.slice(0, o.closerEvents ?? 1_000), o.batchSize);

    // (a) atomic counters
    const aTables = await ctx.freshTables(`naive-a-${distribution}`);
    const a = ctx.countingClient();
    t = performance.now();
    for (const b of batches) await applyAtomicCounters(a.client, aTables.windows, naiveRecords(b, router), WRITE_CONCURRENCY);
    const aFig = figures('atomic-counter', a.tally.total(), records.length, (performance.now() - t) / 1000, {
      counterUpdates: a.tally.table(aTables.windows).writeRequests,
    });
    a.client.destroy();

    // (b) Powertools idempotency
    const bTables = await ctx.freshTables(`naive-b-${distribution}`);
    const idempotency = await ctx.createTable(
      { AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] },
      `idempotency-${distribution}`,
    );
    const b = ctx.countingClient();
    t = performance.now();
    let duplicates = 0;
    for (const batch of batches) {
      duplicates += (await applyIdempotentRecords(b.client, { counters: bTables.windows, idempotency }, naiveRecords(batch, router), WRITE_CONCURRENCY)).duplicates;
    }
    if (duplicates > 0) throw new Error(`the idempotency table refused ${duplicates} first deliveries`);
    const idem = b.tally.table(idempotency);
    const bFig = figures('powertools-idempotency', b.tally.total(), records.length, (performance.now() - t) / 1000, {
      idempotencyPuts: b.counts.PutItemCommand ?? 0,
      completionUpdates: idem.writeRequests - (b.counts.PutItemCommand ?? 0),
      counterUpdates: b.tally.table(bTables.windows).writeRequests,
    });
    b.client.destroy();

    // The in-process counts the scaling section relies on must be what DynamoDB Local received.
    const check = (what: string, measured: number, planned: number) => {
      if (measured !== planned) throw new Error(`${distribution}: ${what}: ${measured} requests sent, ${planned} counted in process`);
    };
    check('(a) counter updates', aFig.writeRequests, eventPipelineFeeds);
    check('(b) counter updates', bFig.detail.counterUpdates!, eventPipelineFeeds);
    check('(b) idempotency puts', bFig.detail.idempotencyPuts!, records.length);
    if (oursFig.detail.watermarkWrites! > plannedPartitionBatches) check('our watermark writes', oursFig.detail.watermarkWrites!, plannedPartitionBatches);
    const briefedB = bFig.detail.idempotencyPuts! + bFig.detail.counterUpdates!;
    rows.push({
      ...(sequence ? { sequence } : {}),
      workload: distribution,
      events: records.length,
      batchSize: o.batchSize,
      batches: batches.length,
      eventPipelineFeeds,
      plannedAggregates,
      plannedPartitionBatches,
      idempotencyExtraWrites: windowsTally.writeRequests - duePageWrites - plannedAggregates,
      designs: [oursFig, aFig, bFig],
      fewerWritesThanAtomic: ratio(aFig.writeRequests, oursFig.writeRequests),
      fewerWritesThanPowertoolsAsBriefed: ratio(briefedB, oursFig.writeRequests),
      fewerWritesThanPowertoolsFull: ratio(bFig.writeRequests, oursFig.writeRequests),
      fewerUnitsThanAtomic: ratio(aFig.writeUnits, oursFig.writeUnits),
      fewerUnitsThanPowertoolsFull: ratio(bFig.writeUnits, oursFig.writeUnits),
    });
  }
  const variants = o.variants === false ? undefined : await registrationsVariants(ctx, o);
  return { events: o.events, batchSize: o.batchSize, capacitySource: CAPACITY_SOURCE, targets: { skewedVsAtomic: 5, skewedVsPowertools: 10 }, rows, closer, registrationsVariants: variants };
}

/** One window variant of the registrations pipeline, measured alone on its topic's records. */
export interface VariantFigures {
  workload: KeyDistribution;
  variant: string;
  /** Events of the registrations topic in the workload. */
  events: number;
  windowWriteRequests: number;
  windowWriteUnits: number;
  /** Window-table write units per registration event: the figure issue #14's 1.5x target is on. */
  writeUnitsPerEvent: number;
  /** Ingest reads (early-alert Queries of a hopping pipeline's buckets) per event. */
  readUnitsPerEvent: number;
  /** This variant's WCU/event over the tumbling variant's on the same workload. */
  vsTumbling: number;
  /** A closer pass that evaluates every window these events made. */
  closer: CloserFigures & { windowsEvaluated: number };
}

/** The registrations pipeline as declared, and as its alternative (tumbling <-> hopping 10 min every 1). */
const REGISTRATION_VARIANTS: readonly { name: string; window: WindowSpec }[] = [
  { name: 'tumbling(10m)', window: tumbling(minutes(10)) },
  { name: 'hopping(10m, every 1m)', window: hopping(minutes(10), { every: minutes(1) }) },
];

/**
 * The registrations pipeline as each variant of REGISTRATION_VARIANTS, side by side in one run: the
 * registrations topic's records of each workload ingested (with early alerts, as deployed) into
 * fresh tables, then one closer pass that evaluates every window.
 */
async function registrationsVariants(ctx: BenchContext, o: WritesOptions): Promise<VariantFigures[]> {
  const out: VariantFigures[] = [];
  for (const distribution of o.workloads ?? WORKLOADS) {
    const records = workload({ events: o.events, distribution }).filter((r) => r.topic === USER_REGISTRATIONS);
    const batches = [...topicBatches(records, o.batchSize)].map((b) => encodeKafkaEvent(b));
    let tumblingUnits: number | undefined;
    for (const v of REGISTRATION_VARIANTS) {
      const variant: Pipeline = { ...registrationsPerIp, window: v.window };
      const tag = `reg-${distribution}-${v.window.kind}`;
      const tables = await ctx.freshTables(tag);
      const counted = ctx.countingClient();
      const config = loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput, ALERTS_TABLE: tables.alerts });
      const deps = wireIngest(counted.client, config, [variant]);
      for (const b of batches) {
        const report = await ingestBatch(decodeKafkaEvent(b), deps);
        if (report.resumeAt.size > 0) throw new Error(`${tag}: ingest reported transient failures`);
      }
      const w = counted.tally.table(tables.windows);
      counted.client.destroy();
      const closer = await runCloser(ctx, tables, [variant]);
      const writeUnitsPerEvent = ratio(w.writeUnits, records.length, 4);
      tumblingUnits ??= writeUnitsPerEvent;
      out.push({
        workload: distribution,
        variant: v.name,
        events: records.length,
        windowWriteRequests: w.writeRequests,
        windowWriteUnits: w.writeUnits,
        writeUnitsPerEvent,
        readUnitsPerEvent: ratio(w.readUnits, records.length, 4),
        vsTumbling: ratio(writeUnitsPerEvent, tumblingUnits, 3),
        closer,
      });
    }
  }
  return out;
}

/** The same batches through ingest with sequence rules on (the alerts table configured), counted. */
async function sequenceSample(
  ctx: BenchContext,
  distribution: KeyDistribution,
  batches: ReturnType<typeof encodeKafkaEvent>[],
  records: RecordInput[],
  windowsOnlyStateUnits: number,
  windowsOnlyUnits: number,
): Promise<SequenceWrites> {
  const tables = await ctx.freshTables(`seq-${distribution}`);
  const counted = ctx.countingClient();
  const deps = wireIngest(counted.client, loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput, ALERTS_TABLE: tables.alerts }));
  let alerts = 0;
  for (const b of batches) {
    const report = await ingestBatch(decodeKafkaEvent(b), deps);
    if (report.resumeAt.size > 0) throw new Error(`ingest with sequences reported transient failures on ${[...report.resumeAt.keys()].join(', ')}`);
    alerts += report.sequenceAlerts;
  }
  counted.client.destroy();
  const state = counted.tally.table(tables.state);
  // The alerts table also takes the window pipelines' early alerts here (the alerts table turns
  // them on too), so sequence alerts are counted by number, not by that table's units.
  const sequenceUnits = state.writeUnits - windowsOnlyStateUnits + alerts;
  const userEvents = records.filter((r) => r.topic === 'user_events').length;
  const stateItemPuts = counted.counts.PutItemCommand !== undefined ? counted.counts.PutItemCommand - counted.tally.table(tables.alerts).writeRequests : 0;
  return {
    rule: 'new-device-payment',
    stateWriteRequests: stateItemPuts,
    stateWriteUnits: state.writeUnits - windowsOnlyStateUnits,
    stateReadUnits: state.readUnits,
    alerts,
    writeUnitsPerEvent: ratio(sequenceUnits, records.length, 4),
    writeUnitsPerUserEvent: ratio(sequenceUnits, userEvents, 4),
    totalWriteUnitsPerEvent: ratio(windowsOnlyUnits + sequenceUnits, records.length, 4),
  };
}

export const CAPACITY_SOURCE =
  'ConsumedCapacity (ReturnConsumedCapacity INDEXES) as DynamoDB Local reports it, through a middleware on a counting client; ' +
  'failed conditional writes (no answer to read) are computed from the returned item size, at least 1 WCU';

/** Ingests `records` into fresh tables, then counts one closer pass that closes every window they made. */
async function closerSample(ctx: BenchContext, records: RecordInput[], batchSize: number): Promise<CloserFigures> {
  const tables = await ctx.freshTables('closer');
  const { client } = ctx.countingClient();
  const deps = wireIngest(client, loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput }));
  for (const b of topicBatches(records, batchSize)) await ingestBatch(decodeKafkaEvent(encodeKafkaEvent(b)), deps);
  client.destroy();
  return runCloser(ctx, tables);
}

/** One closer pass over the tables that closes every window (as at the end of a stream), counted. */
async function runCloser(ctx: BenchContext, tables: Awaited<ReturnType<BenchContext['freshTables']>>, pipelines: readonly Pipeline[] = builtinPipelines): Promise<CloserFigures & { windowsEvaluated: number }> {
  const counted = ctx.countingClient();
  const { cache } = wireRules(counted.client, { stateTable: tables.state, ttlMs: 60_000 });
  const t = performance.now();
  const report = await closeWindows({
    store: new DynamoCloserStore(counted.client, { windowsTable: tables.windows, stateTable: tables.state }),
    alerts: new DynamoAlertStore(counted.client, { tableName: tables.alerts, retentionMs: 7 * 86_400_000 }),
    pipelines,
    rules: () => cache.rules(),
    // Every partition idle and the watermark a day past the last event: every window closes.
    watermark: { delayMs: -86_400_000, idleTimeoutMs: 1, policy: 'min' },
    resultPipelines: resultPipelinesOf(),
    concurrency: 16,
    now: () => Date.now() + 1_000,
    remainingMs: () => 600_000,
    reserveMs: 0,
  });
  const seconds = (performance.now() - t) / 1000;
  counted.client.destroy();
  const closed = report.pipelines.reduce((n, p) => n + p.closed, 0);
  // Windows whose rules were evaluated: one per window item for tumbling pipelines, every window
  // holding an event for hopping ones (the report counts them; absent, as many as items closed).
  const evaluated = report.pipelines.reduce((n, p) => n + (p.windowsEvaluated ?? p.closed + p.recovered), 0);
  const total = counted.tally.total();
  return {
    windowsEvaluated: evaluated,
    writeUnitsPerEvaluatedWindow: ratio(total.writeUnits, evaluated, 3),
    readUnitsPerEvaluatedWindow: ratio(total.readUnits, evaluated, 3),
    windowsClosed: closed,
    alerts: report.pipelines.reduce((n, p) => n + p.alerts, 0),
    seconds: ratio(seconds, 1, 1),
    windowsClosedPerSec: Math.round(closed / seconds),
    writeRequests: total.writeRequests,
    writeUnits: total.writeUnits,
    readRequests: total.readRequests,
    readUnits: total.readUnits,
    writeUnitsPerWindow: ratio(total.writeUnits, closed, 3),
    readUnitsPerWindow: ratio(total.readUnits, closed, 3),
    writeRequestsPerWindow: ratio(total.writeRequests, closed, 3),
  };
}
