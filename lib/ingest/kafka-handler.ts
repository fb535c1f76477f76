/**
 * The ingest handler as a plain async function of the Kafka event: decode, ingest, answer with
 * the partitions to resume. Logging and metrics are attached at the edge (functions/ingest.ts).
 */
import { InputError } from '../errors.ts';
import { decodeKafkaEvent, type BatchItemFailuresResponse, type KafkaEvent } from '../codec/kafka-event.ts';
import type { IngestDeps, IngestReport } from './ingest-batch.ts';
import { ingestIsolating } from './isolate.ts';

/** Throws a clear error for an event that is not a Kafka event at all (a wiring mistake, not data). */
export function assertKafkaEvent(event: unknown): asserts event is KafkaEvent {
  const e = event as Partial<KafkaEvent> | null;
  if (!e || typeof e !== 'object' || typeof e.records !== 'object' || e.records === null) {
    throw new InputError('ingest expects a Lambda Kafka event ({ eventSource, records: { "<topic>-<partition>": [...] } })');
  }
}

export type IngestHandler = (event: KafkaEvent) => Promise<BatchItemFailuresResponse>;

/**
 * A batch that could not be applied fully (storage still refusing after the SDK's retries) while the
 * mappings take no partial batch response: the invocation fails, so the mapping retries the whole
 * batch, which the offset marks make safe (what was applied is skipped).
 */
export class BatchRetryError extends Error {
  override readonly name = 'BatchRetryError';
}

export interface IngestHandlerOptions {
  /**
   * The mappings honour `batchItemFailures` (ReportBatchItemFailures); otherwise the batch fails
   * whole. The deployed function passes what its environment says (REPORT_BATCH_ITEM_FAILURES).
   */
  reportBatchItemFailures: boolean;
}

export function createIngestHandler(
  deps: IngestDeps,
  onReport: (report: IngestReport) => void = () => {},
  options: IngestHandlerOptions = { reportBatchItemFailures: true },
): IngestHandler {
  return async (event) => {
    assertKafkaEvent(event);
    const report = await ingestIsolating(decodeKafkaEvent(event), deps);
    onReport(report);
    const batchItemFailures = [...report.resumeAt].map(([partition, offset]) => ({ itemIdentifier: { partition, offset } }));
    if (batchItemFailures.length > 0 && !options.reportBatchItemFailures) {
      const at = batchItemFailures.map((f) => `${f.itemIdentifier.partition}@${f.itemIdentifier.offset}`).join(', ');
      throw new BatchRetryError(`storage refused part of the batch (resume at ${at}); failing it whole so the mapping retries it (ReportBatchItemFailures is off)`);
    }
    return { batchItemFailures };
  };
}
