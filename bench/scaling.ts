/**
 * Section `scaling`: the CPU path and the write counts at 10k, 100k and 1M events, in process
 * (the workload is generated and cut into batches lazily, so a million events never sit in memory
 * at once), and the ingest function's memory high-water mark per batch size, one child process each
 * (bench/memory-child.ts). End-to-end figures at scale come from the e2e section's runs.
 *
 * Write counts: ours are, per batch, its aggregates (distinct (pipeline, key, window) pairs in the
 * batch) plus one watermark write per partition in it; the writes section checks that rule against
 * the requests DynamoDB Local received. Per-event designs write once per event per pipeline it
 * feeds ((a)), plus an idempotency put and a completion update per record ((b)).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeKafkaEvent } from '../lib/codec/encode.ts';
import { decodeKafkaEvent } from '../lib/codec/kafka-event.ts';
import { slotWrites } from '../lib/ingest/apply.ts';
import { planBatch } from '../lib/ingest/plan.ts';
import { createRouter } from '../lib/ingest/router.ts';
import { builtinPipelines } from '../lib/pipelines/builtin.ts';
import { runChild } from './child.ts';
import { baseline, PLAN_OPTIONS } from './paths.ts';
import type { MemoryResult } from './memory-child.ts';
import { powertoolsPath } from './powertools.ts';
import { mb, perSecond, ratio } from './stats.ts';
import { topicBatches, workloadRecords, WORKLOADS, type KeyDistribution } from './workload.ts';
import { USER_EVENTS } from '../lib/pipelines/topics.ts';

const router = createRouter(builtinPipelines);

export interface WriteCounts {
  batchSize: number;
  batches: number;
  /** Σ over batches of distinct (pipeline, key, window) pairs in the batch: our window writes. */
  batchPairs: number;
  watermarkWrites: number;
  writes: number;
  writesPerEvent: number;
}

export interface ScalingRow {
  workload: KeyDistribution;
  events: number;
  /** Distinct (pipeline, key, window) pairs over the whole run. */
  distinctPairs: number;
  /** What per-event designs write: (a) one per event per pipeline, (b) plus two per record. */
  atomicCounterWrites: number;
  powertoolsIdempotencyWrites: number;
  ours: WriteCounts[];
  cpu: { batchSize: number; passes: number; baselineEventsPerSec: number; ingestEventsPerSec: number; powertoolsEventsPerSec: number; ratioVsBaseline: number; ratioVsPowertools: number };
}

/** Timed passes at the CPU batch size: small sizes are repeated (best pass kept) so one slow moment does not decide. */
export const repeatsFor = (events: number) => Math.max(1, Math.min(5, Math.round(300_000 / events)));

async function measure(distribution: KeyDistribution, events: number, cpuBatchSize: number, countBatchSizes: number[]): Promise<ScalingRow> {
  const pairs = new Set<string>();
  let feeds = 0;
  let records = 0;
  let firstPass = true;
  const best = { baseline: Infinity, ingest: Infinity, powertools: Infinity };
  const counts: WriteCounts[] = [];
  for (const batchSize of countBatchSizes) {
    const timed = batchSize === cpuBatchSize;
    let c: WriteCounts | undefined;
    for (let pass = 0; pass < (timed ? repeatsFor(events) : 1); pass++) {
      const time = { baseline: 0, ingest: 0, powertools: 0 };
      c = { batchSize, batches: 0, batchPairs: 0, watermarkWrites: 0, writes: 0, writesPerEvent: 0 };
      for (const batch of topicBatches(workloadRecords({ events, distribution }), batchSize)) {
        const event = encodeKafkaEvent(batch);
        let t = 0;
        if (timed) {
          t = performance.now();
          baseline(event);
          time.baseline += performance.now() - t;
        }
        t = performance.now();
        const plan = planBatch(decodeKafkaEvent(event), router, PLAN_OPTIONS);
        for (const agg of plan.aggregates) slotWrites(agg, agg.delta);
        time.ingest += performance.now() - t;
        if (timed) {
          t = performance.now();
          await powertoolsPath(event);
          time.powertools += performance.now() - t;
        }
        c.batches++;
        c.batchPairs += plan.aggregates.length;
        c.watermarkWrites += plan.partitions.length;
        if (firstPass) {
          records += batch.length;
          for (const agg of plan.aggregates) {
            feeds += agg.delta.events * agg.pipeline.window.perEvent;
            pairs.add(`${agg.pipeline.name}|${agg.key}|${agg.windowStart}`);
          }
        }
      }
      firstPass = false;
      if (timed) for (const k of ['baseline', 'ingest', 'powertools'] as const) best[k] = Math.min(best[k], time[k]);
    }
    c!.writes = c!.batchPairs + c!.watermarkWrites;
    c!.writesPerEvent = ratio(c!.writes, events, 4);
    counts.push(c!);
  }
  const baselineEventsPerSec = perSecond(events, best.baseline);
  const ingestEventsPerSec = perSecond(events, best.ingest);
  const powertoolsEventsPerSec = perSecond(events, best.powertools);
  return {
    workload: distribution,
    events,
    distinctPairs: pairs.size,
    atomicCounterWrites: feeds,
    powertoolsIdempotencyWrites: feeds + 2 * records,
    ours: counts,
    cpu: {
      batchSize: cpuBatchSize,
      passes: repeatsFor(events),
      baselineEventsPerSec,
      ingestEventsPerSec,
      powertoolsEventsPerSec,
      ratioVsBaseline: ratio(ingestEventsPerSec, baselineEventsPerSec),
      ratioVsPowertools: ratio(ingestEventsPerSec, powertoolsEventsPerSec),
    },
  };
}

/**
 * Distinct (pipeline, key, window) pairs per event of a workload over its 10 minutes of event time:
 * the windows the closer closes per event at that traffic density.
 */
export function windowsPerEvent(events: number, distribution: KeyDistribution): { windows: number; perEvent: number } {
  const pairs = new Set<string>();
  for (const batch of topicBatches(workloadRecords({ events, distribution }), 10_000)) {
    for (const agg of planBatch(decodeKafkaEvent(encodeKafkaEvent(batch)), router, PLAN_OPTIONS).aggregates) pairs.add(`${agg.pipeline.name}|${agg.key}|${agg.windowStart}`);
  }
  return { windows: pairs.size, perEvent: ratio(pairs.size, events, 4) };
}

export interface MemoryRow {
  batchSize: number;
  batches: number;
  payloadKBPerBatch: number;
  baselineRssMB: number;
  peakRssMB: number;
  /** Peak RSS above the process after loading its modules: what the batch itself costs. */
  batchRssMB: number;
  peakHeapUsedMB: number;
}

/** One child process per batch size; payloads are written to files first so generating them costs the child nothing. */
export async function memoryHighWater(batchSizes: number[]): Promise<MemoryRow[]> {
  const rows: MemoryRow[] = [];
  for (const batchSize of batchSizes) {
    const batches = Math.max(3, Math.min(20, Math.round(50_000 / batchSize)));
    const dir = mkdtempSync(join(tmpdir(), 'streamguard-mem-'));
    try {
      const files: string[] = [];
      // Batches of the busiest topic, so each one is full.
      let i = 0;
      for (const batch of topicBatches(workloadRecords({ events: batchSize * batches * 3, distribution: 'uniform' }), batchSize)) {
        if (batch[0]!.topic !== USER_EVENTS || batch.length < batchSize) continue;
        const file = join(dir, `${i++}.json`);
        writeFileSync(file, JSON.stringify(encodeKafkaEvent(batch)));
        files.push(file);
        if (files.length === batches) break;
      }
      const r = await runChild<MemoryResult>('memory-child.ts', { files }, ['--expose-gc']);
      rows.push({
        batchSize,
        batches: r.batches,
        payloadKBPerBatch: Math.round(r.payloadBytes / r.batches / 1024),
        baselineRssMB: mb(r.baselineRssBytes),
        peakRssMB: mb(r.peakRssBytes),
        batchRssMB: mb(r.peakRssBytes - r.baselineRssBytes),
        peakHeapUsedMB: mb(r.peakHeapUsedBytes),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

export interface ScalingOptions {
  sizes: number[];
  cpuBatchSize: number;
  countBatchSizes: number[];
  memoryBatchSizes: number[];
  workloads?: readonly KeyDistribution[];
}

export async function benchScaling(o: ScalingOptions) {
  const rows: ScalingRow[] = [];
  // Warm-up, discarded: the first sizes would otherwise time the JIT compiling the three paths.
  await measure('uniform', 20_000, o.cpuBatchSize, [o.cpuBatchSize]);
  for (const distribution of o.workloads ?? WORKLOADS) {
    for (const events of o.sizes) {
      console.error(`scaling: ${distribution}, ${events.toLocaleString('en-US')} events…`);
      rows.push(await measure(distribution, events, o.cpuBatchSize, [o.cpuBatchSize, ...o.countBatchSizes.filter((b) => b !== o.cpuBatchSize)]));
    }
  }
  console.error('scaling: memory high-water mark per batch size…');
  const memory = await memoryHighWater(o.memoryBatchSizes);
  return { sizes: o.sizes, cpuBatchSize: o.cpuBatchSize, rows, memory };
}
