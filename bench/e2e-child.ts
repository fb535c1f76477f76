/**
 * One end-to-end run through the local runtime, in a process of its own (the runtime loads the
 * functions once per process, configured for the services it started). Started by bench/e2e.ts:
 *
 *   node --import tsx bench/e2e-child.ts '{"events":10000,"seed":7,"out":"/tmp/result.json"}'
 *
 * Generates a scenario (local/generator), produces it through a real Kafka producer, waits until
 * the event source mappings have committed everything, lets the partitions go idle, makes the last
 * closer pass and writes its figures as JSON to `out`.
 */
import { writeFileSync } from 'node:fs';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { alertIsFor, expectsAlert } from '../local/generator/alerted.ts';
import { generate } from '../local/generator/generate.ts';
import { produceRecords } from '../local/generator/produce.ts';
import { startRuntime } from '../local/runtime/runtime.ts';
import type { CloserReport } from '../lib/closer/close-windows.ts';
import { percentile } from './stats.ts';
import { partitionIdOf } from '../lib/codec/partition-id.ts';

export interface E2eChildOptions {
  events: number;
  seed: number;
  out: string;
  closerIntervalMs: number;
  idleTimeoutMs: number;
}

export interface E2eResult {
  events: number;
  seed: number;
  produceSeconds: number;
  /** From the producer's start until every mapping had committed everything. */
  ingestSeconds: number;
  eventsPerSec: number;
  invocations: number;
  recordsPerInvocation: number;
  invocationMsP50: number;
  invocationMsP95: number;
  retries: number;
  failedInvocations: number;
  /** Offsets the mappings never delivered (the mock broker dropped them): must be 0. */
  offsetsSkipped: number;
  /** The largest partition's produced value bytes (the mock broker keeps about 5 MB per partition). */
  largestPartitionBytes: number;
  closerRuns: number;
  windowsClosed: number;
  /** Windows closed over the time closer runs took, all runs. */
  windowsClosedPerSec: number;
  finalRun: { windowsClosed: number; seconds: number; windowsClosedPerSec: number };
  /** Side output: events for windows already closed, and quarantined records (the generator injects malformed ones). */
  late: number;
  quarantined: number;
  alerts: number;
  alertLatencyMs: { p50: number; p95: number; max: number };
  scenarios: number;
  scenariosAlerted: number;
  closerIntervalMs: number;
  idleTimeoutMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(o: E2eChildOptions): Promise<E2eResult> {
  const runs: { startedAt: number; endedAt: number; report: CloserReport }[] = [];
  const runtime = await startRuntime({
    closerIntervalMs: o.closerIntervalMs,
    idleTimeoutMs: o.idleTimeoutMs,
    onCloserRun: (report, startedAt) => runs.push({ startedAt, endedAt: Date.now(), report }),
    onError: (where, err) => console.error(`${where}: ${(err as Error).message}`),
  });
  try {
    const invocations: { records: number; durationMs: number }[] = [];
    for (const m of runtime.mappings) m.on('invocation', (e) => invocations.push({ records: e.records, durationMs: e.durationMs }));

    // Huge (100 KB+) malformed values are left out: with ingest far behind the producer they
    // would push a partition past what the mock broker keeps.
    const { records, scenarios } = generate({ events: o.events, seed: o.seed, hugeValues: false });
    const t0 = Date.now();
    const produced = await produceRecords(runtime.services.brokers, records);
    const tProduced = Date.now();
    const bytes = new Map<string, number>();
    produced.forEach((p, i) => {
      const id = partitionIdOf(p.topic, p.partition);
      bytes.set(id, (bytes.get(id) ?? 0) + Buffer.byteLength(records[i]!.value) + (records[i]!.key?.length ?? 0));
    });
    let lastLog = Date.now();
    for (;;) {
      const lag = await runtime.lag();
      if (lag === 0) break;
      if (Date.now() - lastLog > 10_000) {
        console.log(`  e2e ${o.events}: lag ${lag}`);
        lastLog = Date.now();
      }
      await sleep(100);
    }
    const tCaught = Date.now();
    const stats = runtime.mappings.map((m) => m.stats());

    // The stream has ended: once every partition has been quiet for the idle timeout, the last
    // pass closes every window the final watermark has passed.
    runtime.stopSchedule();
    await sleep(o.idleTimeoutMs + 500);
    const finalStart = Date.now();
    const last = await runtime.runCloser();
    const finalSeconds = (Date.now() - finalStart) / 1000;

    const { client, tables } = runtime.services;
    const alerts: { pipeline: string; key: string; windowStart: number; windowEnd: number; rule: string; raisedAt: number }[] = [];
    let start: Record<string, any> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({ TableName: tables.alerts, ExclusiveStartKey: start, FilterExpression: 'sk = :a', ExpressionAttributeValues: { ':a': { S: 'alert' } } }),
      );
      for (const item of page.Items ?? []) {
        alerts.push({ pipeline: item.pipeline!.S!, key: item.windowKey!.S!, windowStart: Number(item.windowStart!.N), windowEnd: Number(item.windowEnd!.N), rule: item.rule?.S ?? '', raisedAt: Number(item.raisedAt!.N) });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    const countKind = async (kind: string) => {
      let n = 0;
      let from: Record<string, any> | undefined;
      do {
        const page = await client.send(
          new ScanCommand({ TableName: tables.sideOutput, Select: 'COUNT', ExclusiveStartKey: from, FilterExpression: 'kind = :k', ExpressionAttributeValues: { ':k': { S: kind } } }),
        );
        n += page.Count ?? 0;
        from = page.LastEvaluatedKey;
      } while (from);
      return n;
    };
    const late = await countKind('late');
    const quarantined = await countKind('quarantine');
    const starts = runs.map((r) => r.startedAt).sort((a, b) => a - b);
    const latency = alerts.map((a) => a.raisedAt - (starts.filter((t) => t <= a.raisedAt).pop() ?? a.raisedAt));

    const closedOf = (r: CloserReport) => r.pipelines.reduce((n, p) => n + p.closed + p.recovered, 0);
    const windowsClosed = runs.reduce((n, r) => n + closedOf(r.report), 0);
    const closerSeconds = runs.reduce((n, r) => n + (r.endedAt - r.startedAt) / 1000, 0);
    const finalClosed = closedOf(last);
    const durations = invocations.map((i) => i.durationMs);
    const delivered = invocations.reduce((n, i) => n + i.records, 0);
    return {
      events: records.length,
      seed: o.seed,
      produceSeconds: (tProduced - t0) / 1000,
      ingestSeconds: (tCaught - t0) / 1000,
      eventsPerSec: Math.round(records.length / ((tCaught - t0) / 1000)),
      invocations: invocations.length,
      recordsPerInvocation: invocations.length ? Math.round(delivered / invocations.length) : 0,
      invocationMsP50: percentile(durations, 0.5),
      invocationMsP95: percentile(durations, 0.95),
      retries: stats.reduce((n, s) => n + s.retries, 0),
      failedInvocations: stats.reduce((n, s) => n + s.failedInvocations, 0),
      offsetsSkipped: stats.reduce((n, s) => n + s.offsetsSkipped, 0),
      largestPartitionBytes: Math.max(0, ...bytes.values()),
      closerRuns: runs.length,
      windowsClosed,
      windowsClosedPerSec: closerSeconds > 0 ? Math.round(windowsClosed / closerSeconds) : 0,
      finalRun: { windowsClosed: finalClosed, seconds: finalSeconds, windowsClosedPerSec: finalSeconds > 0 ? Math.round(finalClosed / finalSeconds) : 0 },
      late,
      quarantined,
      alerts: alerts.length,
      alertLatencyMs: { p50: percentile(latency, 0.5), p95: percentile(latency, 0.95), max: Math.max(0, ...latency) },
      // Sequence near misses must raise nothing: they are not scenarios to alert.
      scenarios: scenarios.filter(expectsAlert).length,
      scenariosAlerted: scenarios.filter((s) => expectsAlert(s) && alerts.some((a) => alertIsFor(s, a))).length,
      closerIntervalMs: o.closerIntervalMs,
      idleTimeoutMs: o.idleTimeoutMs,
    };
  } finally {
    await runtime.stop();
  }
}

const options = JSON.parse(process.argv[2] ?? '{}') as E2eChildOptions;
main(options)
  .then((result) => {
    writeFileSync(options.out, JSON.stringify(result));
    process.exit(0);
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
