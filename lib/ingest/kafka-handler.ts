/**
 * The ingest handler as a plain async function of the Kafka event: decode, ingest, answer with
 * the partitions to resume. Logging and metrics are attached at the edge (functions/ingest.ts).
 */
import { decodeKafkaEventChecked, type BatchItemFailuresResponse, type KafkaEvent } from '../codec/kafka-event.ts';
import { ingestBatch, type IngestDeps, type IngestReport } from './ingest-batch.ts';
import { sideRecord } from './quarantine.ts';

/** Throws a clear error for an event that is not a Kafka event at all (a wiring mistake, not data). */
export function assertKafkaEvent(event: unknown): asserts event is KafkaEvent {
  const e = event as Partial<KafkaEvent> | null;
  if (!e || typeof e !== 'object' || typeof e.records !== 'object' || e.records === null) {
    throw new TypeError('ingest expects a Lambda Kafka event ({ eventSource, records: { "<topic>-<partition>": [...] } })');
  }
}

export type IngestHandler = (event: KafkaEvent) => Promise<BatchItemFailuresResponse>;

/**
 * The handler never throws for a bad record: records it cannot even place in a partition (see
 * decodeKafkaEventChecked) are quarantined with what coordinates they have, and counted. It throws
 * only for an event with no records at all, and when the store fails for good.
 */
export function createIngestHandler(deps: IngestDeps, onReport: (report: IngestReport) => void = () => {}): IngestHandler {
  return async (event) => {
    assertKafkaEvent(event);
    const { partitions, unplaceable } = decodeKafkaEventChecked(event);
    if (partitions.length === 0 && unplaceable.length === 0) {
      throw new TypeError('ingest got a Lambda Kafka event with no records (an event source mapping never sends one)');
    }
    const report = await ingestBatch(partitions, deps);
    if (unplaceable.length > 0) {
      // After the batch: a transient failure here throws, and the retried batch dedupes what it applied.
      await deps.sideOutput.put(unplaceable.map((r) => sideRecord('quarantine', r, r.envelopeError ?? 'record cannot be placed')));
      report.records += unplaceable.length;
      report.quarantined += unplaceable.length;
    }
    onReport(report);
    return {
      batchItemFailures: [...report.resumeAt].map(([partition, offset]) => ({ itemIdentifier: { partition, offset } })),
    };
  };
}
