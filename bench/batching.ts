/**
 * The batching knob, in process: how big the batches of a sustained rate are under a mapping's
 * batch size and batching window, and what that does to write requests per event (fewer, larger
 * batches pre-aggregate more) and to the wait a record spends before its batch is sent.
 *
 * A mapping (one per topic) sends a batch when it holds `batchSize` records or when the batching
 * window has passed since its first record, whichever comes first; a window of 0 sends what has
 * arrived while the previous invocation ran, taken here as ZERO_WINDOW_TURNAROUND_S. Records are
 * produced at an even pace of `eventsPerSec`, so production time is their index over the rate.
 * Writes are counted as the scaling section counts them (distinct aggregates per batch plus one mark
 * write per partition in it); the writes section checks that rule against DynamoDB Local.
 */
import type { RecordInput } from '../lib/codec/encode.ts';
import { encodeKafkaEvent } from '../lib/codec/encode.ts';
import { decodeKafkaEvent } from '../lib/codec/kafka-event.ts';
import { planBatch } from '../lib/ingest/plan.ts';
import { createRouter } from '../lib/ingest/router.ts';
import { builtinPipelines } from '../lib/pipelines/builtin.ts';
import { PLAN_OPTIONS } from './paths.ts';
import { ratio } from './stats.ts';
import { workloadRecords, type KeyDistribution } from './workload.ts';

const router = createRouter(builtinPipelines);

/** Seconds a window of 0 gathers records for: about one invocation's turnaround (assumed). */
export const ZERO_WINDOW_TURNAROUND_S = 0.1;

export interface BatchingSetting {
  batchSize: number;
  /** Seconds (MaximumBatchingWindowInSeconds). */
  batchingWindowS: number;
}

export interface BatchingRow extends BatchingSetting {
  eventsPerSec: number;
  events: number;
  batches: number;
  meanBatch: number;
  writeRequestsPerEvent: number;
  /** Distinct windows over the run, per event: what the closer closes per event at this density. */
  windowsPerEvent: number;
  /** Longest a record waits for its batch to be sent: the window, or less when batches fill first. */
  maxWaitS: number;
}

/** A batch as a mapping sends it, and how long its first record waited for it to be sent. */
export interface PacedBatch {
  records: RecordInput[];
  waitS: number;
}

/** Batches as the mappings cut a paced stream: per topic, full at `batchSize` or when the window since its first record has passed. */
export function* pacedBatches(records: Iterable<RecordInput>, eventsPerSec: number, s: BatchingSetting): Generator<PacedBatch> {
  if (!(eventsPerSec > 0)) throw new RangeError(`eventsPerSec must be positive, got ${eventsPerSec}`);
  if (!Number.isInteger(s.batchSize) || s.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${s.batchSize}`);
  const windowS = s.batchingWindowS > 0 ? s.batchingWindowS : ZERO_WINDOW_TURNAROUND_S;
  const open = new Map<string, { opened: number; records: RecordInput[] }>();
  let i = 0;
  for (const r of records) {
    const at = i++ / eventsPerSec;
    // Batches whose window has passed by now were sent before this record arrived.
    for (const [topic, batch] of open) {
      if (at - batch.opened >= windowS) {
        open.delete(topic);
        yield { records: batch.records, waitS: windowS };
      }
    }
    let batch = open.get(r.topic);
    if (!batch) open.set(r.topic, (batch = { opened: at, records: [] }));
    batch.records.push(r);
    if (batch.records.length === s.batchSize) {
      open.delete(r.topic);
      yield { records: batch.records, waitS: at - batch.opened };
    }
  }
  for (const batch of open.values()) yield { records: batch.records, waitS: windowS };
}

/** One setting at one rate over `seconds` of traffic of the default workload (windows per event: see windowsAtRate). */
export function measureBatching(eventsPerSec: number, s: BatchingSetting, distribution: KeyDistribution = 'uniform', seconds = 60): Omit<BatchingRow, 'windowsPerEvent'> {
  const events = Math.round(eventsPerSec * seconds);
  let batches = 0;
  let writes = 0;
  let maxWaitS = 0;
  for (const batch of pacedBatches(workloadRecords({ events, distribution, spanMs: seconds * 1000 }), eventsPerSec, s)) {
    const plan = planBatch(decodeKafkaEvent(encodeKafkaEvent(batch.records)), router, PLAN_OPTIONS);
    batches++;
    writes += plan.aggregates.length + plan.partitions.length;
    maxWaitS = Math.max(maxWaitS, batch.waitS);
  }
  return {
    ...s,
    eventsPerSec,
    events,
    batches,
    meanBatch: ratio(events, batches, 1),
    writeRequestsPerEvent: ratio(writes, events, 4),
    maxWaitS: +maxWaitS.toFixed(3),
  };
}

/**
 * Distinct windows per event at a rate: what the closer closes and the due index takes per event.
 * It falls as traffic gets denser (more events per key and window), so it is counted over as much
 * traffic as `maxEvents` allows (10 minutes up to 1,000 events/s; a shorter stretch above, which
 * overstates it a little, as the first windows of a stretch are all new).
 */
export function windowsAtRate(eventsPerSec: number, distribution: KeyDistribution = 'uniform', maxEvents = 600_000): { events: number; windows: number; perEvent: number } {
  const seconds = Math.min(600, maxEvents / eventsPerSec);
  const events = Math.round(eventsPerSec * seconds);
  const pairs = new Set<string>();
  for (const batch of pacedBatches(workloadRecords({ events, distribution, spanMs: seconds * 1000 }), eventsPerSec, { batchSize: 10_000, batchingWindowS: 300 })) {
    for (const agg of planBatch(decodeKafkaEvent(encodeKafkaEvent(batch.records)), router, PLAN_OPTIONS).aggregates) pairs.add(`${agg.pipeline.name}|${agg.key}|${agg.windowStart}`);
  }
  return { events, windows: pairs.size, perEvent: ratio(pairs.size, events, 4) };
}
