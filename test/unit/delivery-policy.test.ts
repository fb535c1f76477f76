/** The event source mapping's delivery contract, decision by decision, without a broker. */
import { describe, expect, it } from 'vitest';
import { decideDelivery, interpretResponse, type DeliveryInput, type DeliverySettings, type RetryState } from '../../local/esm/delivery-policy.ts';

const NOW = 1_000_000_000;
const settings: DeliverySettings = { retryAttempts: 2, maxRecordAge: 3600, bisectBatchOnError: false, retryBackoffBaseMs: 50, retryBackoffMaxMs: 400 };
const batch = (first: number, n: number, timestamp = NOW - 1_000) => ({
  offsets: Array.from({ length: n }, (_, i) => first + i),
  timestamps: Array.from({ length: n }, () => timestamp),
});
const decide = (o: Partial<DeliveryInput>) => decideDelivery({ result: { outcome: 'success' }, batch: batch(10, 4), retry: undefined, settings, now: NOW, ...o });
const error = { outcome: 'error', error: 'boom' } as const;

describe('decideDelivery', () => {
  it('commits a successful batch past its last record and clears the retry state', () => {
    expect(decide({ retry: { offset: 10, attempts: 2 } })).toEqual({ action: 'commit', nextOffset: 14, consumed: 4, retry: undefined });
  });

  it('delivers a batch again, re-cut when asked, when its commit is lost', () => {
    expect(decide({ afterSuccess: { commit: false } })).toEqual({ action: 'redeliver', recutTo: undefined });
    expect(decide({ afterSuccess: { commit: false, redeliverAs: 2 } })).toEqual({ action: 'redeliver', recutTo: 2 });
    expect(decide({ afterSuccess: { commit: true } })).toMatchObject({ action: 'commit', nextOffset: 14 });
  });

  it('retries a failed batch whole with exponential backoff, capped, counting attempts per range', () => {
    let retry: RetryState | undefined;
    const delays: number[] = [];
    for (let i = 0; i < 2; i++) {
      const d = decide({ result: error, retry });
      if (d.action !== 'retry') throw new Error(`expected a retry, got ${d.action}`);
      expect(d.commitFirst).toBeUndefined();
      retry = d.retry;
      delays.push(d.delayMs);
    }
    expect(retry).toEqual({ offset: 10, attempts: 2 });
    expect(delays).toEqual([50, 100]);
    expect(decide({ result: error, retry: { offset: 10, attempts: 0 }, settings: { ...settings, retryAttempts: 100 } })).toMatchObject({ delayMs: 50 });
    expect(decide({ result: error, retry: { offset: 10, attempts: 8 }, settings: { ...settings, retryAttempts: 100 } })).toMatchObject({ delayMs: 400 });
    // A failure of another range starts counting afresh.
    expect(decide({ result: error, retry: { offset: 3, attempts: 2 } })).toMatchObject({ action: 'retry', retry: { offset: 10, attempts: 1 } });
  });

  it('gives up once the retries are used up, sending the failed records on', () => {
    expect(decide({ result: error, retry: { offset: 10, attempts: 2 } })).toEqual({
      action: 'give-up',
      commitFirst: undefined,
      failedFromIndex: 0,
      reason: 'function-error',
      attempts: 3,
      nextOffset: 14,
    });
    // -1: until the records expire.
    expect(decide({ result: error, retry: { offset: 10, attempts: 50 }, settings: { ...settings, retryAttempts: -1 } })).toMatchObject({ action: 'retry' });
  });

  it('commits the prefix before a resume offset and retries from it, without bisecting', () => {
    const d = decide({ result: { outcome: 'partial', resumeOffset: 12, error: 'resume' }, settings: { ...settings, bisectBatchOnError: true } });
    expect(d).toEqual({ action: 'retry', commitFirst: { nextOffset: 12, consumed: 2 }, retry: { offset: 12, attempts: 1 }, delayMs: 50, bisected: false });
    expect(decide({ result: { outcome: 'partial', resumeOffset: 12, error: 'resume' }, retry: { offset: 12, attempts: 2 } })).toMatchObject({
      action: 'give-up',
      commitFirst: { nextOffset: 12, consumed: 2 },
      failedFromIndex: 2,
      reason: 'batch-item-failure',
    });
  });

  it('halves a failing batch without using up a retry, then finishes the range in halves of that size', () => {
    const bisecting = { ...settings, bisectBatchOnError: true };
    const first = decide({ result: error, batch: batch(10, 8), settings: bisecting });
    expect(first).toEqual({ action: 'retry', commitFirst: undefined, retry: { offset: 10, attempts: 0, bisectEnd: 17, bisectSize: 4 }, delayMs: 50, bisected: true });
    // The first half succeeds: the rest of the range is still to be delivered in halves.
    const half = decide({ batch: batch(10, 4), retry: (first as { retry: RetryState }).retry, settings: bisecting });
    expect(half).toEqual({ action: 'commit', nextOffset: 14, consumed: 4, retry: { offset: 14, attempts: 0, bisectEnd: 17, bisectSize: 4 } });
    // A single record cannot be halved: its failures count as retries.
    expect(decide({ result: error, batch: batch(14, 1), retry: { offset: 14, attempts: 0, bisectEnd: 17, bisectSize: 1 }, settings: bisecting })).toMatchObject({
      action: 'retry',
      retry: { offset: 14, attempts: 1, bisectEnd: 17, bisectSize: 1 },
      bisected: false,
    });
  });

  it('gives up on records older than the maximum record age, judging only the records that failed', () => {
    const old = { offsets: [10, 11, 12], timestamps: [NOW - 7_200_000, NOW - 1_000, NOW - 1_000] };
    expect(decide({ result: error, batch: old })).toMatchObject({ action: 'give-up', reason: 'record-age-exceeded', attempts: 1 });
    expect(decide({ result: { outcome: 'partial', resumeOffset: 11, error: 'resume' }, batch: old })).toMatchObject({ action: 'retry' });
    expect(decide({ result: error, batch: old, settings: { ...settings, maxRecordAge: -1 } })).toMatchObject({ action: 'retry' });
  });
});

describe('interpretResponse', () => {
  const offsets = [10, 11, 12];
  const failure = (partition: string, offset: unknown) => ({ batchItemFailures: [{ itemIdentifier: { partition, offset } }] });

  it('reads no answer, an empty list or another partition as success', () => {
    for (const response of [undefined, null, {}, { batchItemFailures: [] }, failure('t-1', 11)]) {
      expect(interpretResponse('t-0', offsets, response, true)).toEqual({ outcome: 'success' });
    }
  });

  it('takes the lowest named offset as the resume point, and a resume at the first record as an error', () => {
    const two = { batchItemFailures: [failure('t-0', 12).batchItemFailures[0], failure('t-0', 11).batchItemFailures[0]] };
    expect(interpretResponse('t-0', offsets, two, true)).toMatchObject({ outcome: 'partial', resumeOffset: 11 });
    expect(interpretResponse('t-0', offsets, failure('t-0', '11'), true)).toMatchObject({ outcome: 'partial', resumeOffset: 11 });
    expect(interpretResponse('t-0', offsets, failure('t-0', 10), true)).toMatchObject({ outcome: 'error' });
  });

  it('fails the whole batch on an identifier naming no record of it', () => {
    expect(interpretResponse('t-0', offsets, failure('t-0', 99), true)).toMatchObject({ outcome: 'error', error: expect.stringContaining('99') });
    expect(interpretResponse('t-0', offsets, failure('t-0', 'x'), true)).toMatchObject({ outcome: 'error' });
  });

  it('ignores the answer when ReportBatchItemFailures is off', () => {
    expect(interpretResponse('t-0', offsets, failure('t-0', 11), false)).toEqual({ outcome: 'success' });
  });
});
