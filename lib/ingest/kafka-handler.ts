/**
 * The ingest handler as a plain async function of the Kafka event: decode, ingest, answer with
 * the partitions to resume. Logging and metrics are attached at the edge (functions/ingest.ts).
 */
import { InputError } from '../errors.ts';
import { decodeKafkaEvent, type BatchItemFailuresResponse, type KafkaEvent } from '../codec/kafka-event.ts';
import { ingestBatch, type IngestDeps, type IngestReport } from './ingest-batch.ts';

/** Throws a clear error for an event that is not a Kafka event at all (a wiring mistake, not data). */
export function assertKafkaEvent(event: unknown): asserts event is KafkaEvent {
  const e = event as Partial<KafkaEvent> | null;
  if (!e || typeof e !== 'object' || typeof e.records !== 'object' || e.records === null) {
    throw new InputError('ingest expects a Lambda Kafka event ({ eventSource, records: { "<topic>-<partition>": [...] } })');
  }
}

export type IngestHandler = (event: KafkaEvent) => Promise<BatchItemFailuresResponse>;

export function createIngestHandler(deps: IngestDeps, onReport: (report: IngestReport) => void = () => {}): IngestHandler {
  return async (event) => {
    assertKafkaEvent(event);
    const report = await ingestBatch(decodeKafkaEvent(event), deps);
    onReport(report);
    return {
      batchItemFailures: [...report.resumeAt].map(([partition, offset]) => ({ itemIdentifier: { partition, offset } })),
    };
  };
}
