/**
 * Section `ingest`: the CPU path, three ways, side by side in one run, per batch size:
 * - baseline: base64-decode and JSON.parse every record, nothing else;
 * - streamguard: the pure ingest path (decode, validate, route, judge lateness, window,
 *   pre-aggregate) down to the content of each write request (slot values and offset ranges);
 * - Powertools: `@aws-lambda-powertools/kafka`'s kafkaConsumer with a zod schema per record, then
 *   a Map update per event per pipeline, down to each write's slot values (bench/powertools.ts).
 * Batches are cut per topic, as one event source mapping per topic delivers them.
 */
import { encodeKafkaEvent } from '../lib/codec/encode.ts';
import type { KafkaEvent } from '../lib/codec/kafka-event.ts';
import { baseline, ingestPath } from './paths.ts';
import { powertoolsPath } from './powertools.ts';
import { perSecond, ratio } from './stats.ts';
import { topicBatches, workload, WORKLOADS, type KeyDistribution } from './workload.ts';

export interface CpuRow {
  workload: KeyDistribution;
  batchSize: number;
  batches: number;
  events: number;
  baselineEventsPerSec: number;
  ingestEventsPerSec: number;
  powertoolsEventsPerSec: number;
  /** streamguard / baseline (target >= 0.5). */
  ratioVsBaseline: number;
  /** streamguard / Powertools. */
  ratioVsPowertools: number;
  powertoolsVsBaseline: number;
  aggregatesPerEvent: number;
}

/** Best of `rounds` timings of each path over the same batches, interleaved so all see the same machine state. */
export async function sideBySide(events: KafkaEvent[], records: number, rounds: number) {
  const best = { baseline: Infinity, ingest: Infinity, powertools: Infinity };
  let aggregates = 0;
  let powertoolsAggregates = 0;
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    for (const e of events) baseline(e);
    best.baseline = Math.min(best.baseline, performance.now() - t);
    t = performance.now();
    aggregates = 0;
    for (const e of events) aggregates += ingestPath(e);
    best.ingest = Math.min(best.ingest, performance.now() - t);
    t = performance.now();
    powertoolsAggregates = 0;
    for (const e of events) powertoolsAggregates += await powertoolsPath(e);
    best.powertools = Math.min(best.powertools, performance.now() - t);
  }
  if (aggregates !== powertoolsAggregates) {
    throw new Error(`the Powertools path found ${powertoolsAggregates} aggregates, streamguard ${aggregates}: they must do the same work`);
  }
  return {
    baselineEventsPerSec: perSecond(records, best.baseline),
    ingestEventsPerSec: perSecond(records, best.ingest),
    powertoolsEventsPerSec: perSecond(records, best.powertools),
    aggregates,
  };
}

export interface IngestOptions {
  events: number;
  rounds: number;
  batchSizes: number[];
  workloads?: readonly KeyDistribution[];
}

export async function benchIngest(o: IngestOptions) {
  const rows: CpuRow[] = [];
  for (const distribution of o.workloads ?? WORKLOADS) {
    const records = workload({ events: o.events, distribution });
    for (const batchSize of o.batchSizes) {
      const events = [...topicBatches(records, batchSize)].map((b) => encodeKafkaEvent(b));
      const r = await sideBySide(events, records.length, o.rounds);
      rows.push({
        workload: distribution,
        batchSize,
        batches: events.length,
        events: records.length,
        baselineEventsPerSec: r.baselineEventsPerSec,
        ingestEventsPerSec: r.ingestEventsPerSec,
        powertoolsEventsPerSec: r.powertoolsEventsPerSec,
        ratioVsBaseline: ratio(r.ingestEventsPerSec, r.baselineEventsPerSec),
        ratioVsPowertools: ratio(r.ingestEventsPerSec, r.powertoolsEventsPerSec),
        powertoolsVsBaseline: ratio(r.powertoolsEventsPerSec, r.baselineEventsPerSec),
        aggregatesPerEvent: ratio(r.aggregates, records.length, 3),
      });
    }
  }
  return { events: o.events, rounds: o.rounds, target: { ratioVsBaseline: 0.5 }, rows };
}
