/**
 * `streamguard verify`: runs the whole system on a generated event log (optionally under chaos),
 * runs the independent DuckDB reference on the same log, and compares the two. Exits non-zero on
 * any difference, so CI can hold the exactly-once and one-alert-per-window claims to account (per
 * cooldown group for a hopping pipeline: docs/design.md, "What verify models for hopping windows").
 */
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ALERT_TOPIC, DEFAULT_WATERMARK_DELAY_MS } from '../../lib/config/deployment.ts';
import { Chaos, RUNTIME_FAULTS, type ChaosRates, type Sabotage } from '../chaos/chaos.ts';
import { generate, type GeneratedRecord } from '../generator/generate.ts';
import { mixHostile } from '../generator/hostile/index.ts';
import { toEventLog, writeEventLog, type EventLogEntry } from '../generator/jsonl.ts';
import { produceRecords, type ProducedRecord } from '../generator/produce.ts';
import { Random } from '../generator/random.ts';
import { tailAlerts } from '../runtime/alert-tail.ts';
import { startRuntime, type LocalRuntime } from '../runtime/runtime.ts';
import type { PartitionLag } from '../esm/event-source-mapping.ts';
import { compare, type Comparison } from './compare.ts';
import { earlyChecks } from './early-checks.ts';
import { computeReference } from './reference/reference.ts';
import { formatComparison } from './report.ts';
import { readSystemState } from './system-state.ts';
import { partitionIdOf } from '../../lib/codec/partition-id.ts';

export interface VerifyOptions {
  events: number;
  seed: number;
  chaos: boolean;
  /**
   * Mix the hostile family into the log (local/generator/hostile): records built to break ingest,
   * which the reference models record by record.
   */
  hostile?: boolean;
  /** Fail unless every fault kind was injected at least this often (chaos only). */
  minFaults?: number;
  /** Where events.jsonl, report.txt and comparison.json go (default: a temp directory). */
  out?: string;
  rates?: Partial<ChaosRates>;
  /** Test only: break the system on purpose to show the comparison notices. */
  sabotage?: Sabotage;
  kafkaBrokers?: string[];
  dynamoEndpoint?: string;
  /** Table name prefix, for a run against a shared DynamoDB. */
  tablePrefix?: string;
  quiet?: boolean;
  /** Every progress line, quiet or not: a test keeps them to say where a run that failed was. */
  onProgress?: (line: string) => void;
  /** How long a caught-up partition stays quiet before it stops holding the watermark (default 45 s). */
  idleTimeoutMs?: number;
}

export interface VerifyResult {
  ok: boolean;
  comparison: Comparison;
  faults: Record<string, number>;
  report: string;
  out: string;
}

const WATERMARK_DELAY_MS = DEFAULT_WATERMARK_DELAY_MS;
/**
 * How long a caught-up partition stays quiet before it stops holding the watermark. A partition with
 * records still to read is never idle (the closer reads the mappings' backlog), so a stall under
 * chaos (a restart, a throttle storm, an invocation queued behind DynamoDB Local) cannot close
 * windows early; this only decides how long the final wait is.
 */
const IDLE_TIMEOUT_MS = 45_000;
/** Produce in slices and wait while the mappings are this far behind: the mock broker keeps ~5 MB per partition. */
const MAX_LAG = 10_000;
const SLICE = 5_000;
/**
 * The mappings retry a failing batch for ever (no partition is ever given up), so a lag that
 * stops falling for this long is a stall to report, not a wait to prolong: verify names the
 * partitions and what their mappings did instead of hanging until CI's timeout.
 */
const STALL_MS = 150_000;

/**
 * Producer retries: a copy of a keyed record a little later in the stream, as a producer that
 * resends after a lost acknowledgement writes it. It is a record of its own (its own offset).
 */
function withProducerRetries(records: GeneratedRecord[], share: number, seed: number): { records: GeneratedRecord[]; duplicates: number } {
  const rng = new Random(seed ^ 0x5eed);
  const out: GeneratedRecord[] = [];
  const pending: { at: number; record: GeneratedRecord }[] = [];
  let duplicates = 0;
  records.forEach((r, i) => {
    out.push(r);
    if (r.key !== null && rng.chance(share)) pending.push({ at: i + rng.int(1, 50), record: r });
    for (let j = pending.length - 1; j >= 0; j--) {
      if (pending[j]!.at <= i) {
        out.push(pending[j]!.record);
        pending.splice(j, 1);
        duplicates++;
      }
    }
  });
  for (const p of pending) {
    out.push(p.record);
    duplicates++;
  }
  return { records: out, duplicates };
}

/** Records whose event time is behind an earlier record of their partition (late ones included). */
function outOfOrder(log: EventLogEntry[]): number {
  const max = new Map<string, number>();
  let n = 0;
  for (const e of [...log].sort((a, b) => a.offset - b.offset)) {
    if (e.eventTime === undefined || e.malformed) continue;
    const id = partitionIdOf(e.topic, e.partition);
    const seen = max.get(id) ?? -Infinity;
    if (e.eventTime < seen) n++;
    else max.set(id, e.eventTime);
  }
  return n;
}

async function produceAtPace(runtime: LocalRuntime, records: GeneratedRecord[], say: (s: string) => void): Promise<ProducedRecord[]> {
  const produced: ProducedRecord[] = [];
  for (let i = 0; i < records.length; i += SLICE) {
    await lagAtMost(runtime, MAX_LAG, say);
    produced.push(...(await produceRecords(runtime.services.brokers, records.slice(i, i + SLICE))));
    say(`  produced ${produced.length}/${records.length}`);
  }
  return produced;
}

/** Waits until the mappings are at most `max` records behind; throws naming the stalled partitions. */
async function lagAtMost(runtime: LocalRuntime, max: number, say: (s: string) => void): Promise<void> {
  let best = Infinity;
  let progressAt = Date.now();
  let saidAt = Date.now();
  let lastError: unknown;
  for (;;) {
    const lags = await runtime.partitionLags().then(
      (l) => l,
      (err: unknown) => {
        lastError = err;
        return undefined;
      },
    );
    const lag = lags?.reduce((n, p) => n + p.lag, 0);
    if (lag !== undefined ? lag <= max : max > 0) return;
    if (lag !== undefined && lag < best) {
      best = lag;
      progressAt = Date.now();
    }
    if (Date.now() - progressAt > STALL_MS) throw new Error(stallMessage(runtime, lags, lastError));
    if (max === 0 && Date.now() - saidAt > 5_000) {
      say(`  waiting for ingest: lag ${lag ?? `unknown (${(lastError as Error)?.message})`}`);
      saidAt = Date.now();
    }
    await new Promise((r) => setTimeout(r, max === 0 ? 250 : 200));
  }
}

function stallMessage(runtime: LocalRuntime, lags: PartitionLag[] | undefined, lastError: unknown): string {
  const behind = (lags ?? []).filter((p) => p.lag > 0).map((p) => `${p.partitionId} (committed ${p.committed ?? 'never'}, end ${p.high})`);
  const mappings = runtime
    .allMappingStats()
    .map((m, i) => `#${i} ${m.running ? 'running' : 'stopped'}: ${m.invocations} invocations, ${m.failedInvocations} failed, ${m.retries} retries, ${m.recordsSucceeded}/${m.recordsDelivered} records succeeded/delivered`);
  return [
    `ingest made no progress for ${STALL_MS / 1000} s`,
    lags ? `partitions behind: ${behind.join(', ') || 'none'}` : `lag unknown: ${(lastError as Error)?.message ?? 'no answer'}`,
    'mappings:',
    ...mappings.map((m) => `  ${m}`),
  ].join('\n');
}

const caughtUp = (runtime: LocalRuntime, say: (s: string) => void) => lagAtMost(runtime, 0, say);

/** Closer passes until one closes nothing and none is due; chaos may crash some of them. */
async function closeEverything(runtime: LocalRuntime, say: (s: string) => void): Promise<void> {
  for (let pass = 1; pass <= 200; pass++) {
    const t = Date.now();
    try {
      const report = await runtime.runCloser();
      const closed = report.pipelines.reduce((n, p) => n + p.closed + p.recovered, 0);
      const detail = report.pipelines
        .filter((p) => p.closed + p.recovered + p.deferred + p.setAside > 0 || p.readsDeferred)
        .map((p) => `${p.pipeline} ${p.closed}+${p.recovered}${p.deferred ? `, ${p.deferred} deferred` : ''}${p.setAside ? `, ${p.setAside} set aside` : ''}${p.readsDeferred ? `, reads deferred` : ''} at ${p.watermark === undefined ? '-' : new Date(p.watermark).toISOString()}`)
        .join('; ');
      say(`  closer pass ${pass}: ${closed} windows closed in ${((Date.now() - t) / 1000).toFixed(1)} s${report.incomplete ? ', some deferred' : ''}${detail ? ` (${detail})` : ''}`);
      if (!report.incomplete && closed === 0) return;
    } catch (err) {
      say(`  closer pass ${pass} failed after ${((Date.now() - t) / 1000).toFixed(1)} s (${(err as Error).message}); running another`);
    }
  }
  throw new Error('windows were still due after 200 closer passes');
}

export async function runVerify(o: VerifyOptions): Promise<VerifyResult> {
  const say = (line: string) => {
    o.onProgress?.(line);
    if (!o.quiet) console.log(line);
  };
  const t0 = Date.now();
  const out = o.out ?? (await mkdtemp(join(tmpdir(), 'streamguard-verify-')));
  await mkdir(out, { recursive: true });

  const generated = generate({
    events: o.events,
    seed: o.seed,
    // At least three hours of event time, so a small run still has late records and closed windows.
    eventsPerSecondOfEventTime: Math.min(5, o.events / (3 * 3600)),
    // Dense enough in alerts that a closer can crash after recording one often (10 per kind at 15k):
    // closerCrash only strikes a window that alerted, so a short run needs many of them.
    scenariosPerKind: Math.max(1, Math.round(o.events / 1_500)),
  });
  const hostile = o.hostile ? mixHostile(generated.records, o.seed) : undefined;
  const base = hostile?.records ?? generated.records;
  const { records, duplicates } = o.chaos ? withProducerRetries(base, 0.002, o.seed) : { records: base, duplicates: 0 };
  const chaos = o.chaos || o.sabotage ? new Chaos({ seed: o.seed, rates: o.chaos ? o.rates : { ...zeroRates(), ...o.rates }, sabotage: o.sabotage }) : undefined;
  const errors: string[] = [];
  let closerTimeouts = 0;
  const runtime = await startRuntime({
    kafkaBrokers: o.kafkaBrokers,
    dynamoEndpoint: o.dynamoEndpoint,
    tablePrefix: o.tablePrefix,
    closerIntervalMs: 2_000,
    watermarkDelayMs: WATERMARK_DELAY_MS,
    idleTimeoutMs: o.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
    chaos,
    // Injected crashes surface here; they are expected, and counted by the chaos itself. So is a
    // closer cut off by its Lambda timeout (middy's AbortError): the closer is crash-safe by design,
    // and a second closer's short budget runs out when throttles slow its last windows.
    onError: (where, err) => {
      const message = String((err as Error).message);
      if (message.startsWith('chaos:')) return;
      if (where.endsWith('closer') && message.includes('[AbortError]')) {
        closerTimeouts++;
        return;
      }
      errors.push(`${where}: ${message}`);
    },
  });
  // Ctrl-C (or CI's timeout) must not leave DynamoDB Local or the broker running.
  const onSignal = () => void runtime.stop().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    say(`verify: ${records.length} records (seed ${o.seed}${o.chaos ? ', chaos on' : ''}${hostile ? ', hostile family mixed in' : ''}); services: ${runtime.services.started.join(', ') || 'external'}`);
    const tail = await tailAlerts(runtime.services.brokers, process.env.ALERT_TOPIC ?? DEFAULT_ALERT_TOPIC);
    const tIngest = Date.now();
    const produced = await produceAtPace(runtime, records, say);
    const log = toEventLog(records, produced);
    const logPath = join(out, 'events.jsonl');
    await writeEventLog(logPath, log);
    await caughtUp(runtime, say);
    const ingestSeconds = (Date.now() - tIngest) / 1000;
    await runtime.calmDown();
    await caughtUp(runtime, say);
    runtime.stopSchedule();
    const idleMs = o.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    say(`ingest caught up in ${ingestSeconds.toFixed(0)} s; waiting ${idleMs / 1000} s for partitions to go idle, then closing every window`);
    await new Promise((r) => setTimeout(r, idleMs + 500));
    await closeEverything(runtime, say);
    // Every alert record through the outbox (the alerts table's stream and the dispatcher), then off the topic.
    await runtime.alertsDispatched();
    await tail.caughtUp();
    await tail.stop();

    const mappingStats = runtime.allMappingStats();
    const skipped = mappingStats.reduce((n, s) => n + s.offsetsSkipped, 0);
    const givenUp = mappingStats.reduce((n, s) => n + s.recordsSentToOnFailure + s.recordsDropped, 0);
    if (skipped > 0) errors.push(`the broker dropped ${skipped} records before they were read (mock broker retention); the run proves nothing`);
    if (givenUp > 0) errors.push(`the mappings gave up on ${givenUp} records (sent to the on-failure topic)`);
    const undispatched = runtime.alertStream.stats().recordsSentToOnFailure;
    if (undispatched > 0) errors.push(`the alert stream mapping gave up on ${undispatched} records (sent to its on-failure destination)`);

    const reference = await computeReference(logPath, { watermarkDelayMs: WATERMARK_DELAY_MS });
    const system = await readSystemState(runtime.services.client, runtime.services.tables);
    const kafkaAlerts = tail.alerts.map((a) => ({ id: a.id, pipeline: a.pipeline, key: a.key, windowStart: a.windowStart, rule: a.rule }));
    const comparison = compare(reference, system, { alerts: kafkaAlerts, messages: tail.messages }, { early: earlyChecks() });

    const faults: Record<string, number> = {};
    if (chaos) {
      faults.duplicateRecords = duplicates;
      faults.outOfOrder = outOfOrder(log);
      faults.late = reference.counts.lateRecords;
      faults.poison = reference.counts.quarantined;
      for (const k of RUNTIME_FAULTS) faults[k] = chaos.counts[k];
      if (o.minFaults !== undefined && o.chaos) {
        for (const [kind, n] of Object.entries(faults)) {
          // A storm is a kind of throttle, counted within it.
          if (kind !== 'throttleExhausted' && n < o.minFaults) errors.push(`fault "${kind}" was injected ${n} times, below --min-faults ${o.minFaults}`);
        }
      }
    }
    const meta = {
      records: records.length,
      seed: o.seed,
      chaos: o.chaos ? 'on' : 'off',
      ...(hostile ? Object.fromEntries(Object.entries(hostile.counts).map(([kind, n]) => [`hostile ${kind}`, n])) : {}),
      'ingest seconds': Math.round(ingestSeconds),
      'closer runs cut off by their timeout': closerTimeouts,
      'total seconds': Math.round((Date.now() - t0) / 1000),
      'events.jsonl': logPath,
    };
    let report = formatComparison(comparison, { faults: chaos ? faults : undefined, meta });
    if (errors.length > 0) report += `\nrun errors:\n${errors.map((e) => `  ${e}`).join('\n')}\n`;
    const ok = comparison.ok && errors.length === 0;
    if (!ok && comparison.ok) report += 'RESULT: FAILED (the run itself failed; see run errors)\n';
    await writeFile(join(out, 'report.txt'), report);
    await writeFile(join(out, 'comparison.json'), JSON.stringify({ ok, comparison, faults, meta, errors }, null, 2) + '\n');
    say(report);
    return { ok, comparison, faults, report, out };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await runtime.stop();
  }
}

function zeroRates(): ChaosRates {
  return { handlerCrash: 0, handlerCrashBeforePages: 0, redelivery: 0, recut: 0, throttle: 0, throttleStorm: 0, closerCrash: 0, concurrentClosers: 0, emulatorRestartEveryMs: 0, dispatcherCrash: 0, dispatcherRedelivery: 0 };
}
