/**
 * Ingest benchmark, each comparison measured side by side in one run:
 * - CPU: the pure ingest path (decode, validate, route, window, pre-aggregate, down to the content
 *   of each write request) vs a baseline that
 *   only base64-decodes and JSON.parses every record;
 * - DynamoDB writes: requests actually sent to DynamoDB Local for one batch, vs this design's
 *   minimum (distinct aggregates + one watermark write per partition) and a naive design (one
 *   write per event per pipeline it feeds), for uniform and Zipf keys.
 */
import { encodeKafkaEvent } from '../lib/codec/encode.ts';
import { decodeKafkaEvent, type KafkaEvent } from '../lib/codec/kafka-event.ts';
import { loadIngestConfig } from '../lib/config/ingest-config.ts';
import { slotWrites } from '../lib/ingest/apply.ts';
import { ingestBatch } from '../lib/ingest/ingest-batch.ts';
import { planBatch } from '../lib/ingest/plan.ts';
import { createRouter } from '../lib/ingest/router.ts';
import { wireIngest } from '../lib/ingest/wire.ts';
import { builtinPipelines } from '../lib/pipelines/builtin.ts';
import type { BenchContext } from './context.ts';
import { workload, type KeyDistribution } from './workload.ts';

const router = createRouter(builtinPipelines);
const planOptions = { maxRecordBytes: 64 * 1024 };

function baseline(event: KafkaEvent): number {
  let n = 0;
  for (const records of Object.values(event.records)) {
    for (const r of records) {
      const parsed = JSON.parse(Buffer.from(r.value!, 'base64').toString('utf8'));
      if (parsed) n++;
    }
  }
  return n;
}

/** Up to the write requests' content: each aggregate's slot values and offset ranges, materialised. */
function ingestPath(event: KafkaEvent): number {
  let n = 0;
  for (const agg of planBatch(decodeKafkaEvent(event), router, planOptions).aggregates) {
    n += slotWrites(agg, agg.delta).length + agg.offsets.length;
  }
  return n;
}

/** Best of `rounds` timings of each, interleaved so both see the same machine state. */
function sideBySide(event: KafkaEvent, records: number, rounds: number) {
  const best = { baseline: Infinity, ingest: Infinity };
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    baseline(event);
    best.baseline = Math.min(best.baseline, performance.now() - t);
    t = performance.now();
    ingestPath(event);
    best.ingest = Math.min(best.ingest, performance.now() - t);
  }
  const baselinePerSec = Math.round(records / (best.baseline / 1000));
  const ingestPerSec = Math.round(records / (best.ingest / 1000));
  return { baselineEventsPerSec: baselinePerSec, ingestEventsPerSec: ingestPerSec, ratio: +(ingestPerSec / baselinePerSec).toFixed(2) };
}

async function writesFor(ctx: BenchContext, event: KafkaEvent, distribution: KeyDistribution) {
  const plan = planBatch(decodeKafkaEvent(event), router, planOptions);
  const tables = await ctx.freshTables(`bench-${distribution}`);
  const counted = ctx.countingClient();
  const deps = wireIngest(counted.client, loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput }));
  const t = performance.now();
  const report = await ingestBatch(decodeKafkaEvent(event), deps);
  const seconds = (performance.now() - t) / 1000;
  counted.client.destroy();
  const feeds = plan.aggregates.reduce((n, a) => n + a.delta.events, 0);
  return {
    distribution,
    aggregates: plan.aggregates.length,
    partitions: plan.partitions.length,
    writeRequests: counted.counts.UpdateItemCommand ?? 0,
    otherRequests: Object.entries(counted.counts).filter(([k]) => k !== 'UpdateItemCommand').reduce((n, [, v]) => n + v, 0),
    minimum: plan.aggregates.length + plan.partitions.length,
    naivePerEvent: feeds,
    reductionVsNaive: +(feeds / (counted.counts.UpdateItemCommand ?? 1)).toFixed(1),
    resumed: report.resumeAt.size,
    secondsAgainstDynamoDbLocal: +seconds.toFixed(1),
  };
}

export async function benchIngest(ctx: BenchContext, options: { events: number; rounds: number }) {
  const cpu: Record<string, unknown> = {};
  const writes: unknown[] = [];
  for (const distribution of ['uniform', 'zipf'] as const) {
    const records = workload({ events: options.events, distribution });
    const event = encodeKafkaEvent(records);
    cpu[distribution] = sideBySide(event, records.length, options.rounds);
    writes.push(await writesFor(ctx, event, distribution));
  }
  return { batchRecords: options.events, cpu, writes };
}
