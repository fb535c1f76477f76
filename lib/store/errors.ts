/** Typed errors of the storage adapters. */
import { StreamguardError } from '../errors.ts';

/** Storage did not do what was asked; the subclass says whether to retry, set aside or stop. */
export class StoreError extends StreamguardError {}

/**
 * Storage refused for a reason that passes with time (throttling, a 5xx, a dropped connection)
 * after the client's own retries. The batch resumes from the first record it affects.
 */
export class TransientStoreError extends StoreError {}

const TRANSIENT_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
  'TimeoutError',
  'RequestTimeout',
]);

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/** Whether an SDK error is worth retrying later rather than failing on. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (TRANSIENT_NAMES.has(e.name)) return true;
  if (e.code && TRANSIENT_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

/**
 * Storage refused one write for good (e.g. the item would pass DynamoDB's 400 KB limit). Retrying
 * cannot help, so the records behind it are quarantined with this message instead of blocking.
 */
export class RejectedWriteError extends StoreError {}

/** What storage holds contradicts its own contract (a due-index entry whose window is gone). */
export class StoreInconsistencyError extends StoreError {}
