/**
 * The ingest handler as a plain async function of the Kafka event: decode, ingest, answer with
 * the partitions to resume. Logging and metrics are attached at the edge (functions/ingest.ts).
 */
import { InputError, StreamguardError } from '../errors.ts';
import { decodeKafkaEventChecked, type BatchItemFailuresResponse, type KafkaEvent } from '../codec/kafka-event.ts';
import type { IngestDeps, IngestReport } from './ingest-batch.ts';
import { ingestIsolating } from './isolate.ts';
import { sideRecord } from './quarantine.ts';

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
export class BatchRetryError extends StreamguardError {}

export interface IngestHandlerOptions {
  /**
   * The mappings honour `batchItemFailures` (ReportBatchItemFailures); otherwise the batch fails
   * whole. The deployed function passes what its environment says (REPORT_BATCH_ITEM_FAILURES).
   */
  reportBatchItemFailures: boolean;
}

/**
 * Builds the ingest handler. It never throws for a bad record: records it cannot even place in a
 * partition (see decodeKafkaEventChecked) are quarantined with what coordinates they have, and
 * counted. It throws for an event with no records at all, when the store fails for good, and (with
 * partial batch responses off) when part of the batch must be retried.
 */
export function createIngestHandler(
  deps: IngestDeps,
  onReport: (report: IngestReport) => void = () => {},
  options: IngestHandlerOptions = { reportBatchItemFailures: true },
): IngestHandler {
  return async (event) => {
    assertKafkaEvent(event);
    const { partitions, unplaceable } = decodeKafkaEventChecked(event);
    if (partitions.length === 0 && unplaceable.length === 0) {
      throw new InputError('ingest got a Lambda Kafka event with no records (an event source mapping never sends one)');
    }
    const report = await ingestIsolating(partitions, deps);
    if (unplaceable.length > 0) {
      // After the batch: a transient failure here throws, and the retried batch dedupes what it applied.
      await deps.sideOutput.put(unplaceable.map((r) => sideRecord('quarantine', r, r.envelopeError ?? 'record cannot be placed')));
      report.records += unplaceable.length;
      report.quarantined += unplaceable.length;
    }
    onReport(report);
    const batchItemFailures = [...report.resumeAt].map(([partition, offset]) => ({ itemIdentifier: { partition, offset } }));
    if (batchItemFailures.length > 0 && !options.reportBatchItemFailures) {
      const at = batchItemFailures.map((f) => `${f.itemIdentifier.partition}@${f.itemIdentifier.offset}`).join(', ');
      throw new BatchRetryError(`storage refused part of the batch (resume at ${at}); failing it whole so the mapping retries it (ReportBatchItemFailures is off)`);
    }
    return { batchItemFailures };
  };
}
