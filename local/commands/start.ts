/**
 * `streamguard start`: the local demo end to end. Starts the services, generates a scenario,
 * produces it, shows progress and alerts as they fire, closes what the watermark has passed once
 * ingest has caught up, prints a summary and stops everything.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_ALERT_TOPIC, DEFAULT_WATERMARK_DELAY_MS, defaultMappings } from '../../lib/config/deployment.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { defaultRules } from '../../lib/rules/defaults.ts';
import { alertIsFor } from '../generator/alerted.ts';
import { scenarioSummaryLines } from './scenario-summary.ts';
import { generate, type GeneratedRecord, type InjectedScenario } from '../generator/generate.ts';
import { readEventLog, toEventLog, writeEventLog } from '../generator/jsonl.ts';
import { alignedStart, paceSchedule, realTimeGeneratorOptions, REAL_TIME_DEFAULTS, REAL_TIME_START_PHASE_MS } from '../generator/pace.ts';
import { produceRecords, type ProducedRecord } from '../generator/produce.ts';
import { readAlertRecords } from '../latency/alert-records.ts';
import { scanWindows } from '../../lib/store/dynamodb/scan-windows.ts';
import { formatPercentiles, measureLatency, type LatencyReport } from '../latency/latency.ts';
import { findTriggers } from '../latency/triggers.ts';
import { CLOSE_RULE, realTimeRules, storeCloseRule } from '../latency/close-rule.ts';
import { DynamoRuleStore } from '../../lib/rules/dynamodb-rule-store.ts';
import { tailAlerts, type AlertMessage } from '../runtime/alert-tail.ts';
import { startRuntime, type LocalRuntime } from '../runtime/runtime.ts';
import type { CloserReport } from '../../lib/closer/close-windows.ts';
import { isDistinctSummary } from '../../lib/pipelines/features.ts';
import { Chaos } from '../chaos/chaos.ts';
import { isSourceTopic } from '../../lib/pipelines/topics.ts';
import { partitionIdOf } from '../../lib/codec/partition-id.ts';

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
  /**
   * Real time (generated sources only): event time follows the wall clock, `rate` records a
   * second for `seconds`, and alerts come from the scheduled closer alone (local/generator/pace.ts).
   */
  realTime?: { rate: number; seconds: number };
  /** The source mappings' batching window in seconds, instead of the deployed default (bench comparisons). */
  maxBatchingWindow?: number;
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

/** How long a real-time run waits at most, after ingest caught up, for a scheduled closer run. */
const REAL_TIME_DRAIN_LIMIT_MS = 120_000;

/** Early and at-close latency side by side, and what each is measured from. */
function latencyLines(l: LatencyReport): string[] {
  const row = (label: string, early: string, close: string) => `    ${label.padEnd(22)}${early.padEnd(30)}${close}`;
  const lines = [
    row('alert latency', 'early', 'at close'),
    row('to the alert record', formatPercentiles(l.early.toRecord), formatPercentiles(l.close.toRecord)),
    row('to the Kafka topic', formatPercentiles(l.early.toKafka), formatPercentiles(l.close.toKafka)),
    `    early from producing the record that made the rule true; at close from the watermark passing the window end`,
  ];
  const e = l.early.split;
  if (e.toInvocation) lines.push(row('early: to invocation', formatPercentiles(e.toInvocation), ''), row('early: invocation', formatPercentiles(e.invocationToRecord), ''), `    early: the mapping's share (produce to the start of the invocation that carried the record) and ingest's (that start to the record)`);
  const w = l.close.windows;
  if (w.toClose) lines.push(row('windows closed', '', `${formatPercentiles(w.toClose)}, ${w.withinInterval}/${w.toClose.n} within ${l.close.scheduleIntervalMs / 1000} s`));
  const s = l.close.fromStoredWatermark;
  if (s.toRecord) lines.push(row('closer share: record', '', `${formatPercentiles(s.toRecord)}, ${s.withinInterval}/${s.toRecord.n} within ${l.close.scheduleIntervalMs / 1000} s`));
  if (s.windowsToClose) lines.push(row('closer share: closed', '', `${formatPercentiles(s.windowsToClose)}, ${s.windowsWithinInterval}/${s.windowsToClose.n} within ${l.close.scheduleIntervalMs / 1000} s`));
  if (s.toRecord || s.windowsToClose) lines.push(`    closer share: from ingest having stored the marks that carry the watermark past the window end`);
  const f = l.close.firstPass;
  if (f && (f.alerts.judged > 0 || f.windows.judged > 0)) {
    lines.push(
      row('by the first pass', '', `alerts ${f.alerts.within}/${f.alerts.judged}, windows ${f.windows.within}/${f.windows.judged}${f.windows.neverClosed > 0 ? ` (${f.windows.neverClosed} never closed)` : ''}`),
      `    at close: recorded (closed) by the end of the first closer pass that started after ingest stored the marks passing the window end; ${f.passes} passes, ${formatPercentiles(f.passMs)} each`,
    );
  }
  if (l.close.fromWatermark > 0) lines.push(`    at close: ${l.close.withinInterval}/${l.close.fromWatermark} recorded within one schedule interval (${l.close.scheduleIntervalMs / 1000} s) of the watermark passing`);
  if (l.close.fromCloserRun > 0) lines.push(`    at close: ${l.close.fromCloserRun} closed once the stream went idle, timed from that closer run`);
  const unmatched = l.early.unmatched + l.close.unmatched;
  if (unmatched > 0) lines.push(`    ${unmatched} alerts not timed (no due moment found: see summary.json latency)`);
  return lines;
}
const percentile = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]! : 0);

async function load(source: StartSource): Promise<{ records: GeneratedRecord[]; scenarios: InjectedScenario[] }> {
  if (source.kind === 'generate') return generate({ events: source.events, seed: source.seed });
  const entries = await readEventLog(source.path);
  const records = entries.map((e, i): GeneratedRecord => {
    if (!isSourceTopic(e.topic)) {
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
  const closerPasses: { startedAt: number; endedAt: number }[] = [];
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
  const rt = o.realTime;
  const watermarkDelayMs = rt ? REAL_TIME_DEFAULTS.watermarkDelayMs : DEFAULT_WATERMARK_DELAY_MS;
  // The rules the functions run with: a real-time run stores one decided at close (local/latency/close-rule.ts).
  const rules = rt ? realTimeRules : defaultRules;
  const chaos = o.chaos ? new Chaos({ seed: o.source.kind === 'generate' ? o.source.seed : 1 }) : undefined;
  try {
    runtime = await startRuntime({
      chaos,
      kafkaBrokers: o.kafkaBrokers,
      dynamoEndpoint: o.dynamoEndpoint,
      closerIntervalMs: o.closerIntervalMs,
      idleTimeoutMs: LOCAL_IDLE_TIMEOUT_MS,
      watermarkDelayMs,
      ...(o.maxBatchingWindow !== undefined ? { maxBatchingWindow: o.maxBatchingWindow } : {}),
      onCloserRun: (report, startedAt) => closerRuns.push({ startedAt, report }),
      onCloserPass: (_, startedAt, endedAt) => closerPasses.push({ startedAt, endedAt }),
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

    let records: GeneratedRecord[];
    let scenarios: InjectedScenario[];
    let dueAt: number[] | undefined;
    if (rt) {
      if (o.source.kind !== 'generate') throw new Error('--real-time generates its events; it cannot replay a log');
      // Every shipped rule fires early: a rule decided at close gives at-close latency alerts to time.
      await storeCloseRule(new DynamoRuleStore(services.client, { tableName: services.tables.state, pipelines: builtinPipelines }));
      // The timeline starts a moment from now (so that generating it does not eat into its start),
      // at the same place in the minute every run, so that runs close the same share of windows.
      const start = alignedStart(Date.now() + 500);
      say(`real time: stored rule ${CLOSE_RULE.id} (${CLOSE_RULE.condition}, decided at close); waiting ${((start - Date.now()) / 1000).toFixed(0)} s to start ${REAL_TIME_START_PHASE_MS / 1000} s past a minute`);
      ({ records, scenarios } = generate({ ...realTimeGeneratorOptions({ rate: rt.rate, seconds: rt.seconds, seed: o.source.seed, start, watermarkDelayMs }), rules }));
      await new Promise((r) => setTimeout(r, Math.max(0, start - Date.now())));
      dueAt = paceSchedule(records, start, Math.max(start, Date.now()));
      say(`real time: ${records.length} events (seed ${o.source.seed}) at ${rt.rate}/s for ${rt.seconds} s, event time from ${new Date(start).toISOString()}, watermark delay ${watermarkDelayMs / 1000} s, ${scenarios.length} injected fraud scenarios`);
    } else {
      ({ records, scenarios } = await load(o.source));
      say(o.source.kind === 'generate'
        ? `generated ${records.length} events (seed ${o.source.seed}) with ${scenarios.length} injected fraud scenarios`
        : `replaying ${records.length} events from ${o.source.path}`);
    }
    let producedSoFar = 0;
    const progress = setInterval(async () => {
      const lag = await runtime!.lag().catch(() => NaN);
      const done = runtime!.mappings.reduce((n, m) => n + m.stats().recordsSucceeded, 0);
      say(`  ${rt ? `produced ${producedSoFar}  ` : ''}processed ${done}/${records.length}  lag ${lag}  closer runs ${closerRuns.length}  alerts ${tail!.alerts.length}`);
    }, 2_000);
    const tProduce = Date.now();
    let produced: ProducedRecord[];
    let produceMs: number;
    try {
      produced = await produceRecords(services.brokers, records, { dueAt, onProgress: (n) => (producedSoFar = n) });
      produceMs = Date.now() - tProduce;
      say(`produced ${produced.length} events in ${(produceMs / 1000).toFixed(1)} s`);
      while ((await runtime.lag()) > 0) await new Promise((r) => setTimeout(r, 250));
    } finally {
      clearInterval(progress);
    }
    const ingestMs = Date.now() - tProduce;
    await runtime.calmDown();
    let last: CloserReport | undefined;
    if (rt) {
      // Real time ends as a live stream pauses: no idle wait, no extra pass. The run stops once a
      // scheduled closer run that started after ingest caught up (so saw the last marks) is done;
      // windows the watermark has not passed stay open.
      const caughtUpAt = Date.now();
      say('ingest caught up; stopping after the next scheduled closer run (windows the watermark has not passed stay open)');
      const deadline = caughtUpAt + Math.max(REAL_TIME_DRAIN_LIMIT_MS, 10 * o.closerIntervalMs);
      while (!closerRuns.some((r) => r.startedAt >= caughtUpAt) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      runtime.stopSchedule();
      last = (await runtime.whenCloserIdle()) ?? closerRuns.at(-1)?.report;
    } else {
      // The stream has ended: once every partition has been quiet for the idle timeout the watermark
      // is the greatest event time seen minus the delay. A last pass then closes all it has passed.
      runtime.stopSchedule();
      say(`ingest caught up; waiting ${LOCAL_IDLE_TIMEOUT_MS / 1000} s for partitions to count as idle, then a last closer pass`);
      await new Promise((r) => setTimeout(r, LOCAL_IDLE_TIMEOUT_MS + 500));
      last = await runtime.runCloser().catch(() => undefined);
      // Under chaos a pass can crash or defer throttled windows; the next one finishes them.
      for (let pass = 0; pass < 10 && (last === undefined || last.incomplete); pass++) last = await runtime.runCloser().catch(() => undefined);
    }
    if (last === undefined) throw new Error(rt ? 'the closer never ran' : 'the last closer pass kept failing');
    await runtime.alertsDispatched();
    await tail.caughtUp();

    // The moments alerts became due, from a replay of what was produced (local/latency).
    const found = await findTriggers(
      records.map((r, i) => {
        const p = produced[i]!;
        const id = partitionIdOf(p.topic, p.partition);
        const appliedAt = runtime!.applied.appliedAt(id, p.offset);
        const invokedAt = runtime!.applied.invokedAt(id, p.offset);
        return {
          ...p,
          key: r.key,
          value: r.value,
          ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}),
          ...(appliedAt !== undefined ? { appliedAt } : {}),
          ...(invokedAt !== undefined ? { invokedAt } : {}),
        };
      }),
      {
        pipelines: builtinPipelines,
        rules,
        watermarkDelayMs,
        partitions: services.started.some((s) => s.startsWith('Kafka'))
          ? Object.fromEntries(defaultMappings.map((m) => [m.topic, m.partitions]))
          : Object.fromEntries(defaultMappings.map((m) => [m.topic, new Set(produced.filter((p) => p.topic === m.topic).map((p) => p.partition)).size])),
      },
    );
    const windowItems = await scanWindows(services.client, services.tables.windows);
    const latency = measureLatency({
      alerts: await readAlertRecords(services.client, services.tables.alerts),
      triggerOf: found.triggerOf,
      watermarkPassedAt: found.watermarkPassedAt,
      watermarkStoredAt: found.watermarkStoredAt,
      receivedAt: tail.receivedAt,
      closerRunStarts: closerRuns.map((r) => r.startedAt),
      scheduleIntervalMs: o.closerIntervalMs,
      closedWindows: windowItems.flatMap((w) => (w.closedAt === undefined ? [] : [{ pipeline: w.pipeline, windowEnd: w.windowEnd, closedAt: w.closedAt }])),
      openWindows: windowItems.filter((w) => w.closedAt === undefined),
      closerPasses,
    });

    const alerts = tail.alerts;
    const summary = {
      events: records.length,
      malformed: records.filter((r) => r.malformed).length,
      // An alert names its window; for a hopping pipeline, one matching window of its cooldown group.
      scenarios: scenarios.map((s) => ({ ...s, alerted: alerts.some((a) => alertIsFor(s, a)) })),
      quarantined: await count(services.client, services.tables.sideOutput, { expr: 'kind = :k', values: { ':k': { S: 'quarantine' } } }),
      late: await count(services.client, services.tables.sideOutput, { expr: 'kind = :k', values: { ':k': { S: 'late' } } }),
      // Due pages share the windows table; they are no windows.
      windows: await count(services.client, services.tables.windows, { expr: 'NOT begins_with(pk, :p)', values: { ':p': { S: 'due#' } } }),
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
      ...(rt ? { realTime: { ...rt, watermarkDelayMs } } : {}),
      latency,
    };
    // The summary is printed even with --quiet: it is what --quiet keeps.
    const report = (line: string) => console.log(line);
    // Near misses (sequence scenarios that must raise nothing) are counted apart: not alerting is their success.
    const outcome = scenarioSummaryLines(summary.scenarios);
    const { missed } = outcome;
    report(`\nsummary: ${summary.events} events, ${summary.quarantined} quarantined, ${summary.late} late, ${summary.windows} windows, ${summary.alerts} alerts`);
    report(`  end to end ${summary.eventsPerSecondEndToEnd} events/s; scenarios alerted ${outcome.expected.length - missed.length}/${outcome.expected.length}`);
    for (const line of outcome.lines) report(line);
    if (chaos) report(`  faults injected: ${Object.entries(chaos.counts).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const line of latencyLines(latency)) report(line);
    // A real-time run stops mid-stream: windows the watermark has not reached are still open, not missed.
    const open = rt ? missed.filter((s) => last!.pipelines.some((p) => p.pipeline === s.pipeline && (p.watermark === undefined || p.watermark < s.windowEnd))) : [];
    if (open.length > 0) report(`  ${open.length} scenarios' windows still open when the run stopped (${[...new Set(open.map((s) => s.pipeline))].join(', ')}; ending ${fmtTime(Math.min(...open.map((s) => s.windowEnd)))}-${fmtTime(Math.max(...open.map((s) => s.windowEnd)))})`);
    for (const s of missed.filter((m) => !open.includes(m))) {
      if (s.rule !== undefined) report(`  not alerted: ${s.kind} rule ${s.rule} key=${s.key} (${s.detail})`);
      else report(`  not alerted: ${s.kind} ${s.pipeline} key=${s.key} window ending ${new Date(s.windowEnd).toISOString()} (watermark ${summary.watermarks[s.pipeline]})`);
    }

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
