/**
 * The verify check cannot pass vacuously: with the window writes' offset guard sabotaged (a
 * test-only switch in the chaos layer), crashes and redeliveries count events twice, and the
 * comparison with the DuckDB reference must say so. (CI runs the real thing, `npm run verify --
 * --chaos --hostile`, on a fixed seed and on fresh ones (.ci/run); this file only proves the
 * check bites.)
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { runVerify } from '../../local/verify/verify.ts';

const DEADLINE_MS = 420_000;

describe('verify', () => {
  it('fails, naming double-counted events and differing windows, when writes are not idempotent', async () => {
    // A run that stalls says where: verify throws on an ingest stall, and the deadline below reports
    // the progress lines of any other wait (CI once timed this test out with nothing to read).
    const progress: string[] = [];
    const result = await withDeadline(DEADLINE_MS, () => `verify did not finish in ${DEADLINE_MS / 1000} s; its progress:\n${progress.join('\n')}`, runVerify({
      events: 3_000,
      seed: 5,
      chaos: true,
      // Crashes after some writes are what a non-idempotent write path cannot survive.
      rates: { handlerCrash: 0.5, emulatorRestartEveryMs: 0, closerCrash: 0, concurrentClosers: 0 },
      sabotage: { nonIdempotentWrites: true },
      dynamoEndpoint: inject('dynamoEndpoint'),
      tablePrefix: `verify${randomUUID().slice(0, 6)}`,
      quiet: true,
      onProgress: (line) => progress.push(line),
      // No mapping restarts here, so partitions need not stay quiet long before closing.
      idleTimeoutMs: 15_000,
    }));
    expect(result.faults.handlerCrash).toBeGreaterThan(0);
    expect(result.ok).toBe(false);
    expect(result.comparison.events.doubleCounted).toBeGreaterThan(0);
    expect(result.comparison.windows.differing).toBeGreaterThan(0);
    expect(result.comparison.events.lost).toBe(0);
    expect(result.report).toMatch(/RESULT: FAILED \(\d+ differences\)/);
  }, DEADLINE_MS + 30_000);
});

async function withDeadline<T>(ms: number, message: () => string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
