/**
 * What the event source mapping does with a partition after one invocation: commit, deliver again
 * (a lost commit), retry (whole, halved, or from a resume offset), or give up on the records.
 * Pure: no broker, no clock, no I/O, so every branch of AWS's delivery contract is unit-tested
 * (test/unit/delivery-policy.test.ts); event-source-mapping.ts carries the decision out.
 */

/** How an invocation ended, as the mapping reads the handler's answer. */
export type InvokeResult =
  | { outcome: 'success' }
  | { outcome: 'error'; error: string }
  /** batchItemFailures named `resumeOffset`, inside the batch and above its first record. */
  | { outcome: 'partial'; resumeOffset: number; error: string };

/** A partition's standing failure: where it is, how often it failed there, and any bisection. */
export interface RetryState {
  /** First offset of the range that failed. */
  offset: number;
  attempts: number;
  /** Where the range being bisected ends (inclusive). */
  bisectEnd?: number;
  bisectSize?: number;
}

/** The records of the invocation, as far as the policy needs them. */
export interface DeliveredBatch {
  /** Offsets in order. */
  offsets: readonly number[];
  /** Kafka timestamps (epoch ms), same order. */
  timestamps: readonly number[];
}

/** The error-handling settings of the mapping (CDK property names). */
export interface DeliverySettings {
  /** -1: retry until the records expire. */
  retryAttempts: number;
  /** Seconds; -1: records never expire. */
  maxRecordAge: number;
  bisectBatchOnError: boolean;
  retryBackoffBaseMs: number;
  retryBackoffMaxMs: number;
}

/** What the chaos layer may do to a successful batch's commit. */
export type AfterSuccess = { commit: true } | { commit: false; redeliverAs?: number };

export type FailureReason = 'function-error' | 'batch-item-failure' | 'record-age-exceeded';

export type DeliveryDecision =
  /** Commit `nextOffset` and drop `consumed` records from the head of the buffer. */
  | { action: 'commit'; nextOffset: number; consumed: number; retry: RetryState | undefined }
  /** The commit was lost: deliver the same head again, cut to `recutTo` records if set. */
  | { action: 'redeliver'; recutTo: number | undefined }
  /**
   * Commit the prefix that succeeded (when `commitFirst`), then wait `delayMs` and deliver again
   * from `retry.offset` (halved to `retry.bisectSize` while bisecting).
   */
  | { action: 'retry'; commitFirst: { nextOffset: number; consumed: number } | undefined; retry: RetryState; delayMs: number; bisected: boolean }
  /**
   * Commit the prefix that succeeded (when `commitFirst`), send the records from index
   * `failedFromIndex` on to the on-failure destination, then commit `nextOffset`, past the batch.
   */
  | { action: 'give-up'; commitFirst: { nextOffset: number; consumed: number } | undefined; failedFromIndex: number; reason: FailureReason; attempts: number; nextOffset: number };

export interface DeliveryInput {
  result: InvokeResult;
  batch: DeliveredBatch;
  /** The partition's retry state before this invocation. */
  retry: RetryState | undefined;
  settings: DeliverySettings;
  /** For a successful batch: whether its commit goes through (chaos may lose it). */
  afterSuccess?: AfterSuccess;
  now: number;
}

/** Decides what follows an invocation. */
export function decideDelivery(input: DeliveryInput): DeliveryDecision {
  const { result, batch, retry, settings } = input;
  const first = batch.offsets[0]!;
  const last = batch.offsets[batch.offsets.length - 1]!;

  if (result.outcome === 'success') {
    const fault = input.afterSuccess;
    if (fault && !fault.commit) return { action: 'redeliver', recutTo: fault.redeliverAs };
    // Still inside a bisected range: the rest of it is retried in halves of the same size.
    const next = retry && retry.bisectEnd !== undefined && last < retry.bisectEnd ? { ...retry, offset: last + 1, attempts: 0 } : undefined;
    return { action: 'commit', nextOffset: last + 1, consumed: batch.offsets.length, retry: next };
  }

  // Everything from `failedFrom` on failed; the prefix before it succeeded.
  const failedFrom = result.outcome === 'partial' ? result.resumeOffset : first;
  const failedIndex = batch.offsets.indexOf(failedFrom);
  const failedCount = batch.offsets.length - failedIndex;
  const commitFirst = failedFrom > first ? { nextOffset: failedFrom, consumed: failedIndex } : undefined;
  const sameRange = retry !== undefined && retry.offset === failedFrom;
  const bisect = settings.bisectBatchOnError && result.outcome === 'error' && failedCount > 1;
  // Halving is progress towards isolating the bad record, so it does not use up a retry.
  const attempts = (sameRange ? retry.attempts : 0) + (bisect ? 0 : 1);
  let oldest = Infinity;
  for (let i = failedIndex; i < batch.timestamps.length; i++) oldest = Math.min(oldest, batch.timestamps[i]!);
  const expired = settings.maxRecordAge >= 0 && input.now - oldest > settings.maxRecordAge * 1000;
  const exhausted = settings.retryAttempts >= 0 && attempts > settings.retryAttempts;

  if (expired || exhausted) {
    const reason: FailureReason = expired ? 'record-age-exceeded' : result.outcome === 'partial' ? 'batch-item-failure' : 'function-error';
    return { action: 'give-up', commitFirst, failedFromIndex: failedIndex, reason, attempts: Math.max(attempts, 1), nextOffset: last + 1 };
  }

  const next: RetryState = { offset: failedFrom, attempts };
  if (bisect) {
    next.bisectEnd = Math.max(last, retry?.bisectEnd ?? last);
    next.bisectSize = Math.ceil(failedCount / 2);
  } else if (retry?.bisectEnd !== undefined && failedFrom <= retry.bisectEnd) {
    next.bisectEnd = retry.bisectEnd;
    next.bisectSize = retry.bisectSize;
  }
  const delayMs = bisect ? settings.retryBackoffBaseMs : Math.min(settings.retryBackoffMaxMs, settings.retryBackoffBaseMs * 2 ** Math.max(0, attempts - 1));
  return {
    action: 'retry',
    commitFirst,
    retry: next,
    delayMs,
    bisected: bisect,
  };
}

/**
 * Reads a handler's answer the way the mapping does (only this partition's entries matter). With
 * ReportBatchItemFailures off, any answer is a success; an identifier naming no record of the
 * batch fails the whole batch, as AWS does; a resume at the batch's first record is an error.
 */
export function interpretResponse(partitionId: string, offsets: readonly number[], response: unknown, reportBatchItemFailures: boolean): InvokeResult {
  if (!reportBatchItemFailures) return { outcome: 'success' };
  const failures = (response as { batchItemFailures?: unknown } | null | undefined)?.batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return { outcome: 'success' };
  const named: number[] = [];
  for (const f of failures) {
    const id = (f as { itemIdentifier?: { partition?: unknown; offset?: unknown } } | null)?.itemIdentifier;
    if (id?.partition !== partitionId) continue;
    const offset = Number(id.offset);
    if (!Number.isInteger(offset) || !offsets.includes(offset)) {
      return { outcome: 'error', error: `batchItemFailures names offset ${String(id.offset)} not in the batch` };
    }
    named.push(offset);
  }
  if (named.length === 0) return { outcome: 'success' };
  const resumeOffset = Math.min(...named);
  const error = `batchItemFailures: resume ${partitionId} at ${resumeOffset}`;
  return resumeOffset === offsets[0] ? { outcome: 'error', error } : { outcome: 'partial', resumeOffset, error };
}
