/**
 * Section `e2e`: events/s end to end through the local runtime (embedded broker, event source
 * mapping emulator, the real handlers, DynamoDB Local), the closer's windows closed per second and
 * the alert latency from a closer run's start to the alerts it raises. One child process per run
 * (bench/e2e-child.ts). Then one real-time run (bench/latency-child.ts): alert latency as a user
 * feels it, early and at close (local/latency). A run that lost records in the broker (offsetsSkipped > 0) fails the section.
 */
import { runChild } from './child.ts';
import type { E2eResult } from './e2e-child.ts';
import type { LatencyResult } from './latency-child.ts';

export interface E2eOptions {
  sizes: number[];
  seed: number;
  closerIntervalMs: number;
  idleTimeoutMs: number;
  /** A real-time run for alert latency (`npm start -- --real-time`); absent: none. */
  latency?: { rate: number; seconds: number };
}

export async function benchE2e(o: E2eOptions) {
  const runs: E2eResult[] = [];
  for (const events of o.sizes) {
    console.error(`e2e: ${events.toLocaleString('en-US')} events through the local runtime…`);
    const r = await runChild<E2eResult>('e2e-child.ts', { events, seed: o.seed, closerIntervalMs: o.closerIntervalMs, idleTimeoutMs: o.idleTimeoutMs });
    if (r.offsetsSkipped !== 0) throw new Error(`e2e ${events}: the mock broker dropped ${r.offsetsSkipped} offsets before they were consumed; use fewer events`);
    runs.push(r);
  }
  let latency: LatencyResult | undefined;
  if (o.latency) {
    console.error(`e2e: alert latency, ${o.latency.seconds} s in real time at ${o.latency.rate} events/s…`);
    latency = await runChild<LatencyResult>('latency-child.ts', { ...o.latency, seed: o.seed, closerIntervalMs: o.closerIntervalMs });
  }
  return { seed: o.seed, runs, ...(latency ? { latency } : {}) };
}
