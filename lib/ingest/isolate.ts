/**
 * The last line of "bad input never blocks a partition": a batch that fails with an error a record
 * can cause (see isRecordFault) is cut down, partition by partition and then in
 * halves, until the records that fail on their own are found; those are quarantined with the error,
 * and the rest is applied. Without this, one record that trips an unforeseen error would fail its
 * batch on every retry and, with an on-failure destination, send the whole batch there.
 *
 * Sub-batches run one after another in offset order, so lateness and watermarks come out as they
 * would for the whole batch (they depend only on each partition's log), and a redelivery takes the
 * same path: what was applied is skipped by the offset marks, the quarantine put is idempotent.
 */
import type { DecodedRecord } from '../codec/kafka-event.ts';
import { ingestBatch, type IngestDeps, type IngestReport } from './ingest-batch.ts';
import { sideRecord, type SideRecord } from './quarantine.ts';

/**
 * Errors a record can cause: DynamoDB refusing a request as invalid for what it carries
 * (ValidationException), or our code meeting a value it cannot handle (TypeError, RangeError,
 * SyntaxError). Anything else (a permission, a missing table, a crash) is not the input's fault
 * and fails the batch as before.
 */
const isRecordFault = (err: unknown) =>
  err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError || (err instanceof Error && err.name === 'ValidationException');

function merge(into: IngestReport, part: IngestReport): void {
  for (const k of ['records', 'valid', 'filtered', 'quarantined', 'late', 'windowWrites', 'duplicates', 'partials', 'skippedEvents', 'alreadyApplied', 'duePages', 'pagedWindows', 'earlyAlerts', 'earlyAlertsFailed', 'sequenceWrites', 'sequenceAlerts', 'sequenceLate'] as const) into[k] += part[k];
  for (const [id, offset] of part.resumeAt) if (!(into.resumeAt.get(id)! <= offset)) into.resumeAt.set(id, offset);
}

const empty = (): IngestReport => ({
  records: 0, valid: 0, filtered: 0, quarantined: 0, late: 0, windowWrites: 0, duplicates: 0, partials: 0, skippedEvents: 0, alreadyApplied: 0, duePages: 0, pagedWindows: 0, earlyAlerts: 0, earlyAlertsFailed: 0, sequenceWrites: 0, sequenceAlerts: 0, sequenceLate: 0, resumeAt: new Map(),
});

/**
 * Ingests a batch like ingestBatch, but isolates and quarantines records that fail it on their own.
 * Rethrows other errors, and the original error when every record of a batch of two or more
 * fails alone (then the input is not to blame, and quarantining it all would hide a bug).
 */
export async function ingestIsolating(partitions: DecodedRecord[][], deps: IngestDeps): Promise<IngestReport> {
  try {
    return await ingestBatch(partitions, deps);
  } catch (err) {
    if (!isRecordFault(err)) throw err;
    const total = partitions.reduce((n, p) => n + p.length, 0);
    const report = empty();
    const isolated: SideRecord[] = [];
    const run = async (parts: DecodedRecord[][]): Promise<void> => {
      // A partition that must resume (transient) takes no later records now: they come again.
      const live = parts.map((p) => p.filter((r) => !report.resumeAt.has(r.partitionId))).filter((p) => p.length > 0);
      if (live.length === 0) return;
      try {
        merge(report, await ingestBatch(live, deps));
        return;
      } catch (e) {
        if (!isRecordFault(e)) throw e;
        const records = live.flat();
        if (records.length === 1) {
          isolated.push(sideRecord('quarantine', records[0]!, `ingest failed on this record alone: ${(e as Error).name}: ${(e as Error).message}`));
          merge(report, { ...empty(), records: 1, quarantined: 1 });
          return;
        }
        if (live.length > 1) {
          for (const p of live) await run([p]);
          return;
        }
        const p = live[0]!;
        const half = Math.ceil(p.length / 2);
        await run([p.slice(0, half)]);
        await run([p.slice(half)]);
      }
    };
    for (const p of partitions) if (p.length > 0) await run([p]);
    // Two or more records all failing alone is not bad input. (A batch of one cannot tell; it is
    // quarantined like any other record that fails alone, with the error as the reason.)
    if (total > 1 && isolated.length === total) throw err;
    // If this put fails, so does the batch: its redelivery isolates the same records again.
    if (isolated.length > 0) await deps.sideOutput.put(isolated);
    return report;
  }
}
