/**
 * `streamguard start`: the local demo end to end. Starts the services, generates a scenario,
 * produces it, shows progress and alerts as they fire, closes what the watermark has passed once
 * ingest has caught up, prints a summary and stops everything.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_ALERT_TOPIC } from '../../lib/config/deployment.ts';
import { generate, type GeneratedRecord, type InjectedScenario } from '../generator/generate.ts';
import { readEventLog, toEventLog, writeEventLog } from '../generator/jsonl.ts';
import { produceRecords } from '../generator/produce.ts';
import { tailAlerts, type AlertMessage } from '../runtime/alert-tail.ts';
import { startRuntime, type LocalRuntime } from '../runtime/runtime.ts';
import type { CloserReport } from '../../lib/closer/close-windows.ts';
import { isDistinctSummary } from '../../lib/pipelines/features.ts';
import { Chaos } from '../chaos/chaos.ts';

/** What to feed: a generated scenario, or a recorded event log (topic, key, value per line). */
export type StartSource = { kind: 'generate'; events: number; seed: number } | { kind: 'replay'; path: string };

export interface StartOptions {
  source: StartSource;
  out: string | undefined;
  closerIntervalMs: number;
  kafkaBrokers: string[] | undefined;
  dynamoEndpoint: string | undefined;
  quiet: boolean;
  /** Inject every runtime fault kind while the demo runs (local/chaos), and count them. */
  chaos?: boolean;
}

async function count(client: DynamoDBClient, table: string, filter?: { expr: string; values: Record<string, { S: string }> }): Promise<number> {
  let n = 0;
  let start: Record<string, any> | undefined;
  do {
    const out = await client.send(
      new ScanCommand({ TableName: table, Select: 'COUNT', ExclusiveStartKey: start, FilterExpression: filter?.expr, ExpressionAttributeValues: filter?.values }),
    );
    n += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return n;
}

/**
 * Locally event time runs far faster than wall time and a busy partition can take seconds per
 * batch (over 15 s at 100,000 events, with DynamoDB Local saturated), so the idle timeout must
 * outlast a slow batch (AWS default: 5 minutes).
 */
const LOCAL_IDLE_TIMEOUT_MS = 30_000;

/** Features for one line: sets by their size, numbers rounded. */
const brief = (f: Record<string, unknown>) =>
  Object.entries(f)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.length : typeof v === 'number' ? +v.toFixed(2) : isDistinctSummary(v) ? `${v.approximate ? '~' : ''}${v.count}` : v}`)
    .join(' ');

const fmtTime = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const percentile = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]! : 0);

async function load(source: StartSource): Promise<{ records: GeneratedRecord[]; scenarios: InjectedScenario[] }> {
  if (source.kind === 'generate') return generate({ events: source.events, seed: source.seed });
  const entries = await readEventLog(source.path);
  const records = entries.map((e, i): GeneratedRecord => {
    if (e.topic !== 'user_events' && e.topic !== 'user_registrations' && e.topic !== 'iot_telemetry') {
      throw new Error(`${source.path}:${i + 1}: topic "${e.topic}" is not read by any pipeline`);
    }
    return {
      topic: e.topic,
      key: e.key ?? null,
      value: e.value,
      eventTime: e.eventTime,
      ...(e.malformed ? { malformed: e.malformed } : {}),
      // Replayed with the timestamps they were first produced with, so ingest judges them alike.
      ...(e.timestamp !== undefined ? { timestamp: e.timestamp } : {}),
    };
  });
  return { records, scenarios: [] };
}

export async function runStart(o: StartOptions): Promise<number> {
  const say = (line: string) => !o.quiet && console.log(line);
  const t0 = Date.now();
  const closerRuns: { startedAt: number; report: CloserReport }[] = [];
  let runtime: LocalRuntime | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await tail?.stop();
    await runtime?.stop();
  };
  const onSignal = () => {
    say('\nstopping…');
    void stop().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let tail: Awaited<ReturnType<typeof tailAlerts>> | undefined;
  const chaos = o.chaos ? new Chaos({ seed: o.source.kind === 'generate' ? o.source.seed : 1 }) : undefined;
  try {
    runtime = await startRuntime({
      chaos,
      kafkaBrokers: o.kafkaBrokers,
      dynamoEndpoint: o.dynamoEndpoint,
      closerIntervalMs: o.closerIntervalMs,
      idleTimeoutMs: LOCAL_IDLE_TIMEOUT_MS,
      onCloserRun: (report, startedAt) => closerRuns.push({ startedAt, report }),
      onError: (where, err) => {
        // Injected crashes are expected under --chaos; they are counted, not reported.
        if (!String((err as Error).message).startsWith('chaos:')) console.error(`${where}: ${(err as Error).message}`);
      },
    });
    for (const s of runtime.services.started) say(`started ${s}`);
    const { services } = runtime;
    const raisedAt = new Map<string, number>();
    tail = await tailAlerts(services.brokers, process.env.ALERT_TOPIC ?? DEFAULT_ALERT_TOPIC, (a: AlertMessage) => {
      raisedAt.set(a.id, a.raisedAt);
      say(`  ALERT ${a.level ?? ''} ${a.alertType} ${a.pipeline} key=${a.key} window ${fmtTime(a.windowStart)}-${fmtTime(a.windowEnd)} ${brief(a.features)}`);
    });

    const { records, scenarios } = await load(o.source);
    say(o.source.kind === 'generate'
      ? `generated ${records.length} events (seed ${o.source.seed}) with ${scenarios.length} injected fraud scenarios`
      : `replaying ${records.length} events from ${o.source.path}`);
    const tProduce = Date.now();
    const produced = await produceRecords(services.brokers, records);
    const produceMs = Date.now() - tProduce;
    say(`produced ${produced.length} events in ${(produceMs / 1000).toFixed(1)} s`);

    const progress = setInterval(async () => {
      const lag = await runtime!.lag().catch(() => NaN);
      const done = runtime!.mappings.reduce((n, m) => n + m.stats().recordsSucceeded, 0);
      say(`  processed ${done}/${produced.length}  lag ${lag}  closer runs ${closerRuns.length}  alerts ${tail!.alerts.length}`);
    }, 2_000);
    try {
      while ((await runtime.lag()) > 0) await new Promise((r) => setTimeout(r, 250));
    } finally {
      clearInterval(progress);
    }
    const ingestMs = Date.now() - tProduce;
    // The stream has ended: once every partition has been quiet for the idle timeout the watermark
    // is the greatest event time seen minus the delay. A last pass then closes all it has passed.
    await runtime.calmDown();
    runtime.stopSchedule();
    say(`ingest caught up; waiting ${LOCAL_IDLE_TIMEOUT_MS / 1000} s for partitions to count as idle, then a last closer pass`);
    await new Promise((r) => setTimeout(r, LOCAL_IDLE_TIMEOUT_MS + 500));
    let last = await runtime.runCloser().catch(() => undefined);
    // Under chaos a pass can crash or defer throttled windows; the next one finishes them.
    for (let pass = 0; pass < 10 && (last === undefined || last.incomplete); pass++) last = await runtime.runCloser().catch(() => undefined);
    if (last === undefined) throw new Error('the last closer pass kept failing');
    await runtime.alertsDispatched();
    await tail.caughtUp();

    const alerts = tail.alerts;
    const summary = {
      events: records.length,
      malformed: records.filter((r) => r.malformed).length,
      scenarios: scenarios.map((s) => ({ ...s, alerted: alerts.some((a) => a.pipeline === s.pipeline && a.key === s.key && a.windowStart === s.windowStart) })),
      quarantined: await count(services.client, services.tables.sideOutput, { expr: 'kind = :k', values: { ':k': { S: 'quarantine' } } }),
      late: await count(services.client, services.tables.sideOutput, { expr: 'kind = :k', values: { ':k': { S: 'late' } } }),
      windows: await count(services.client, services.tables.windows),
      watermarks: Object.fromEntries(last.pipelines.map((p) => [p.pipeline, p.watermark === undefined ? null : new Date(p.watermark).toISOString()])),
      alerts: alerts.length,
      alertMessages: tail.messages,
      closerRuns: closerRuns.length,
      ...(chaos ? { faults: chaos.counts } : {}),
      seconds: { produce: produceMs / 1000, ingestCaughtUp: ingestMs / 1000, total: (Date.now() - t0) / 1000 },
      eventsPerSecondEndToEnd: Math.round(records.length / (ingestMs / 1000)),
      // From the start of the closer run that raised an alert (the first to see the watermark past
      // the window's end) to the alert; detection adds up to one schedule interval before that.
      alertLatencyInCloserRunMs: (() => {
        const starts = closerRuns.map((r) => r.startedAt).sort((a, b) => a - b);
        const lat = alerts.map((a) => a.raisedAt - (starts.filter((t) => t <= a.raisedAt).pop() ?? a.raisedAt));
        return { p50: percentile(lat, 0.5), p95: percentile(lat, 0.95), max: Math.max(0, ...lat), scheduleIntervalMs: o.closerIntervalMs };
      })(),
    };
    const missed = summary.scenarios.filter((s) => !s.alerted);
    say(`\nsummary: ${summary.events} events, ${summary.quarantined} quarantined, ${summary.late} late, ${summary.windows} windows, ${summary.alerts} alerts`);
    say(`  end to end ${summary.eventsPerSecondEndToEnd} events/s; scenarios alerted ${summary.scenarios.length - missed.length}/${summary.scenarios.length}`);
    if (chaos) say(`  faults injected: ${Object.entries(chaos.counts).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const s of missed) say(`  not alerted: ${s.kind} ${s.pipeline} key=${s.key} window ending ${new Date(s.windowEnd).toISOString()} (watermark ${summary.watermarks[s.pipeline]})`);

    if (o.out) {
      await mkdir(o.out, { recursive: true });
      await writeEventLog(join(o.out, 'events.jsonl'), toEventLog(records, produced));
      await writeFile(join(o.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
      await writeFile(join(o.out, 'alerts.jsonl'), alerts.map((a) => JSON.stringify(a)).join('\n') + (alerts.length ? '\n' : ''));
      say(`wrote ${join(o.out, 'events.jsonl')}, summary.json, alerts.jsonl`);
    }
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await stop();
  }
}
