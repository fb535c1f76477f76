/** The baseline and our CPU path, as the ingest and scaling sections time them (kept apart from Powertools for profiling). */
import { decodeKafkaEvent, type KafkaEvent } from '../lib/codec/kafka-event.ts';
import { slotWrites } from '../lib/ingest/apply.ts';
import { planBatch, type PlanOptions } from '../lib/ingest/plan.ts';
import { createRouter } from '../lib/ingest/router.ts';
import { builtinPipelines } from '../lib/pipelines/builtin.ts';

const router = createRouter(builtinPipelines);
/** As the function plans a first delivery: default record cap, lateness judged (no stored marks yet). */
export const PLAN_OPTIONS: PlanOptions = { maxRecordBytes: 64 * 1024, lateness: { delayMs: 600_000, marks: new Map() } };

/** base64 decode + JSON.parse of every record: the least any consumer does. */
export function baseline(event: KafkaEvent): number {
  let n = 0;
  for (const records of Object.values(event.records)) {
    for (const r of records) {
      const parsed = JSON.parse(Buffer.from(r.value!, 'base64').toString('utf8'));
      if (parsed) n++;
    }
  }
  return n;
}

/** Up to the write requests' content: each aggregate's slot values and offset ranges, materialised. Returns aggregates. */
export function ingestPath(event: KafkaEvent): number {
  const { aggregates } = planBatch(decodeKafkaEvent(event), router, PLAN_OPTIONS);
  for (const agg of aggregates) sink += slotWrites(agg, agg.delta).length + agg.offsets.length;
  return aggregates.length;
}

/** Where built write content goes, so no engine could call it dead. */
let sink = 0;

