/**
 * The verify check cannot pass vacuously: with the window writes' offset guard sabotaged (a
 * test-only switch in the chaos layer), crashes and redeliveries count events twice, and the
 * comparison with the DuckDB reference must say so. (CI runs the real thing, `npm run verify --
 * --chaos`, on 100,000 events; this file only proves the check bites.)
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { runVerify } from '../../local/verify/verify.ts';

describe('verify', () => {
  it('fails, naming double-counted events and differing windows, when writes are not idempotent', async () => {
    const result = await runVerify({
      events: 3_000,
      seed: 5,
      chaos: true,
      // Crashes after some writes are what a non-idempotent write path cannot survive.
      rates: { handlerCrash: 0.5, emulatorRestartEveryMs: 0, closerCrash: 0, concurrentClosers: 0 },
      sabotage: { nonIdempotentWrites: true },
      dynamoEndpoint: inject('dynamoEndpoint'),
      tablePrefix: `verify${randomUUID().slice(0, 6)}`,
      quiet: true,
    });
    expect(result.faults.handlerCrash).toBeGreaterThan(0);
    expect(result.ok).toBe(false);
    expect(result.comparison.events.doubleCounted).toBeGreaterThan(0);
    expect(result.comparison.windows.differing).toBeGreaterThan(0);
    expect(result.comparison.events.lost).toBe(0);
    expect(result.report).toMatch(/RESULT: FAILED \(\d+ differences\)/);
  }, 300_000);
});
