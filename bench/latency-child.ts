/**
 * One real-time run (`npm start -- --real-time`) in a process of its own, for the e2e section's
 * alert latency. Started by bench/e2e.ts:
 *
 *   node --import tsx bench/latency-child.ts '{"rate":200,"seconds":60,"seed":7,"closerIntervalMs":2000,"out":"/tmp/result.json"}'
 *
 * Writes the run's latency report (local/latency/latency.ts) with its settings as JSON to `out`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStart } from '../local/commands/start.ts';
import type { LatencyReport } from '../local/latency/latency.ts';

export interface LatencyChildOptions {
  rate: number;
  seconds: number;
  seed: number;
  closerIntervalMs: number;
  /** The source mappings' batching window in seconds; absent: the deployed default (AWS's 500 ms). */
  batchingWindowS?: number;
  out: string;
  /** Where the run's summary, events and alerts go, kept for inspection; absent: a temporary folder, removed. */
  dir?: string;
}

export interface LatencyResult {
  rate: number;
  seconds: number;
  seed: number;
  closerIntervalMs: number;
  watermarkDelayMs: number;
  /** The batching window the run was told to use, when not the deployed default. */
  batchingWindowS?: number;
  events: number;
  alerts: number;
  scenarios: number;
  scenariosAlerted: number;
  /** From the producer's start until every mapping had committed everything. */
  ingestSeconds: number;
  latency: Omit<LatencyReport, 'alerts'>;
  loadAverage: number[];
}

const o = JSON.parse(process.argv[2] ?? '{}') as LatencyChildOptions;
const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'streamguard-latency-'));
try {
  const code = await runStart({
    source: { kind: 'generate', events: 0, seed: o.seed },
    out: dir,
    closerIntervalMs: o.closerIntervalMs,
    kafkaBrokers: undefined,
    dynamoEndpoint: undefined,
    quiet: true,
    realTime: { rate: o.rate, seconds: o.seconds },
    ...(o.batchingWindowS !== undefined ? { maxBatchingWindow: o.batchingWindowS } : {}),
  });
  if (code !== 0) throw new Error(`the real-time run exited with ${code}`);
  const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  const { alerts: _, ...latency } = s.latency as LatencyReport;
  const result: LatencyResult = {
    rate: o.rate,
    seconds: o.seconds,
    seed: o.seed,
    closerIntervalMs: o.closerIntervalMs,
    watermarkDelayMs: s.realTime.watermarkDelayMs,
    ...(o.batchingWindowS !== undefined ? { batchingWindowS: o.batchingWindowS } : {}),
    events: s.events,
    alerts: s.alerts,
    // Sequence near misses (expectAlert false) must raise nothing: they are not scenarios to alert.
    scenarios: s.scenarios.filter((x: { expectAlert?: false }) => x.expectAlert !== false).length,
    scenariosAlerted: s.scenarios.filter((x: { alerted: boolean; expectAlert?: false }) => x.alerted && x.expectAlert !== false).length,
    ingestSeconds: s.seconds.ingestCaughtUp,
    latency,
    loadAverage: loadavg().map((l) => +l.toFixed(2)),
  };
  writeFileSync(o.out, JSON.stringify(result));
} finally {
  if (o.dir === undefined) rmSync(dir, { recursive: true, force: true });
}
