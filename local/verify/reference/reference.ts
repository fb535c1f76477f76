/**
 * The reference computation: from an event log (events.jsonl), every built-in pipeline's windows
 * (buckets and hopping windows for a hopping pipeline) and features, the late and quarantined
 * records, and the alerts the DEFAULT rules must raise,
 * computed by SQL in an in-process DuckDB. It is the independent oracle `npm run verify` compares
 * the running system against, so it shares no code with the engine: nothing from lib/ is imported;
 * the rules were read there and re-expressed in SQL (./sql/*.ts, one temp table per stage).
 *
 * Its own copy, on purpose: the pipelines, window sizes, thresholds, topic names and caps here
 * (./types.ts, ./distinct-caps.ts, ./sql/) restate lib/pipelines/builtin.ts, lib/rules/defaults.ts
 * and lib/pipelines/topics.ts rather than import them, while everything else (the generator
 * included) reads those once. A new built-in pipeline must be added here by hand (docs/design.md,
 * "Adding a pipeline").
 *
 * What it reads: each line's topic, partition, offset, timestamp and value, nothing else. The generator's
 * hints (eventTime, malformed, late, scenario) are ignored, so a hand-written log works the same.
 * Records are identified by (topic, partition, offset); the same value at two offsets (a producer
 * retry) is two records, and both count, as exactly-once is per Kafka offset.
 *
 * How it knows lateness: from the log's order. Within a topic-partition records are read in offset
 * order, and a record is judged against the partition's watermark when it is read: the greatest
 * event time of the earlier valid records of that topic-partition, minus the watermark delay. An
 * event is late for a pipeline when that pipeline's stored unit for it (its window, or for a
 * hopping pipeline its bucket) ends at or before that watermark; late events are counted per
 * pipeline and applied to no window. This is the late rule the engine applies at ingest; it
 * depends only on the log, not on how the mapping cut batches or when the closer ran, which is
 * what lets a reference compute it.
 *
 * Hopping windows (registrations: 10 minutes every minute, ./windowing.ts). `windows` holds what the
 * system stores: one-minute buckets per IP, late all or nothing (an event whose bucket has ended
 * reaches none of its windows, open ones included), each with the features of its events, `closed`
 * once the last window holding it has (start + 10 min) and `sealed` once it has ended. The windows
 * [E - 10m, E) themselves are `hoppingWindows`, computed from the events (each expanded to the ten
 * windows that hold it), not from the buckets; `registrations > 20` is judged on them. Alerts are
 * one per (pipeline, key, rule, cooldown group), group = floor(windowStart / 10m) * 10m, listing the
 * group's matching windows; its windowStart is the earliest, which records it at close. For
 * tumbling pipelines a group is the window. Cooldowns are the default (the window size) only.
 *
 * Sequence rules (issue 15, ./sql/sequences.ts): the default rule `new-device-payment` (a login
 * from a device the user has not used within 30 days, by a user who used some device within 30
 * days, then a payment above 500 within 10 minutes, inclusive), over the valid user events that are
 * not late for sequences: an event is late when its event time is below its partition's watermark
 * when read (the same read_in_partition_order as windows). Events of a user are ordered by (event
 * time, partition, offset), whichever partitions they came on. Matches are completion-anchored:
 * one per payment that completes a chain, with the latest chain (the latest qualifying login
 * before it), and its id computed as the engine must (seq-<24 hex of sha256 of JSON [rule, key,
 * topic, partition, offset]). Also returned: each applied event's step flags, so verify can check
 * a stored chain, and the events late for sequences.
 *
 * What it does NOT model:
 * - Sequence alerts are never retracted, and the engine judges a step's history with what it holds
 *   when it judges: an earlier-in-ORDER event (say, the same device) that reaches it on another
 *   partition only after the alert fired does not take the alert back, and is not seen by a
 *   history judged before it arrived. The reference computes on the full log, so on such a log it
 *   and the engine may disagree. The generated scenarios spread a user's events over two partitions
 *   but put each history event on the partition of the login it bears on, earlier in offset order,
 *   so they never send such an event; background users' events move partition only when a record
 *   has a null key (2%), which would need a rare coincidence as well.
 * - Sequence rules other than the default one, which is hard-coded like the window rules.
 * - Windows closed early. The closer closes a window once the pipeline's watermark (over the
 *   topic's active partitions) passes its end, and partitions idle longer than the idle timeout do
 *   not hold that watermark back. If a partition goes idle and then resumes, the engine turns away
 *   as late events whose window closed meanwhile, which the reference still counts as on time.
 *   verify runs with an idle timeout long enough that this cannot happen.
 * - Spark's watermark policy (maximum over partitions), offered as an option by the engine.
 * - Rule cooldowns other than the default (the window size; ./windowing.ts hard-codes it), and
 *   hopping windows evaluated before the pipeline watermark passes their end.
 * - Rules other than the defaults (lib/rules/defaults.ts), which are hard-coded here. Risk follows
 *   the source system's CASE: at most one alert per window, risk-high before risk-medium. (The
 *   engine's evaluateRules raises every matching alerting rule, so a window with two devices, two
 *   cities and more than 5 logins would get both there; verify would report the extra alert.)
 * - Local time: an ISO-8601 time without an offset is local time to Date.parse; the system runs in
 *   UTC, and the reference reads such times as UTC.
 * - Lone UTF-16 surrogates. In the log line itself (a value holding one, which JSON.stringify
 *   writes as "\ud800") DuckDB refuses the file and computeReference throws; kafkajs would have sent
 *   U+FFFD. Inside a value as a JSON escape, JSON.parse accepts one and DuckDB does not: in a name
 *   the engine quarantines it too, but in a field no schema reads, the reference quarantines a
 *   record the engine would read. Generated logs contain neither.
 * - Envelope faults and value bytes the log cannot carry (a value that is not a string, invalid
 *   base64, invalid UTF-8): the log holds values as text. Integration tests cover those.
 */
import { resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { jsSemanticsMacros } from './sql/js-semantics.ts';
import { recordStatements } from './sql/records.ts';
import { windowStatements } from './sql/windows.ts';
import { SEQUENCE_RULES, sequenceAlertId } from './sequence-rules.ts';
import { sequenceStatements } from './sql/sequences.ts';
import { APPROXIMATE_RELATIVE_ERROR, DISTINCT_CAPS } from './distinct-caps.ts';
import type {
  RecordCoordinates,
  ReferenceAlert,
  ReferenceOptions,
  ReferencePipeline,
  ReferenceResult,
  ReferenceSequenceMatch,
  ReferenceStepEvent,
  ReferenceWindow,
} from './types.ts';
import { isHopping, PIPELINE_WINDOWS, RULE_COOLDOWNS, RULE_PIPELINES } from './windowing.ts';

export type * from './types.ts';

/** docs/design.md: the watermark delay defaults to 10 minutes. */
export const DEFAULT_WATERMARK_DELAY_MS = 600_000;

/** The ingest function's default MAX_RECORD_BYTES (64 KiB). */
export const MAX_RECORD_BYTES = 65_536;

/** The ingest function's default MAX_EVENT_AHEAD_MS (5 minutes). */
export const DEFAULT_MAX_EVENT_AHEAD_MS = 300_000;

/** Each pipeline's features, in the order the pipeline declares them (the rejected count last). */
export const PIPELINE_FEATURES: Readonly<Record<ReferencePipeline, readonly string[]>> = {
  payments: ['count', 'amount'],
  risk: ['events', 'devices', 'cities', 'logins'],
  registrations: ['registrations', 'users'],
  iot: ['count', 'temperatureMin', 'temperatureMax', 'temperatureAvg', 'humidityMin', 'humidityMax', 'humidityAvg', 'rejected'],
};

const PIPELINES = Object.keys(PIPELINE_FEATURES) as ReferencePipeline[];

export { SEQUENCE_RULES, sequenceAlertId } from './sequence-rules.ts';

/**
 * Computes the reference result of an event log.
 *
 * @throws Error when the log cannot be read, a line lacks topic/partition/offset, or two lines share
 * the same (topic, partition, offset).
 */
export async function computeReference(eventLogPath: string, options: ReferenceOptions = {}): Promise<ReferenceResult> {
  const delay = options.watermarkDelayMs ?? DEFAULT_WATERMARK_DELAY_MS;
  if (!Number.isSafeInteger(delay) || delay < 0) throw new RangeError(`watermarkDelayMs must be a non-negative integer, got ${delay}`);
  const ahead = options.maxEventAheadMs ?? DEFAULT_MAX_EVENT_AHEAD_MS;
  if (!Number.isSafeInteger(ahead) || ahead < 0) throw new RangeError(`maxEventAheadMs must be a non-negative integer, got ${ahead}`);
  const path = resolve(eventLogPath);

  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await defineMacros(connection);
    await connection.run(`SET VARIABLE event_log_path = ${quote(path)}`);
    await connection.run(`SET VARIABLE max_record_bytes = ${MAX_RECORD_BYTES}`);
    await connection.run(`SET VARIABLE watermark_delay_ms = ${delay}`);
    await connection.run(`SET VARIABLE max_event_ahead_ms = ${ahead}`);
    try {
      await connection.run(recordStatements[0]!);
    } catch (err) {
      throw new Error(`cannot read event log ${path}: ${(err as Error).message}`, { cause: err });
    }
    await checkLog(connection, path);
    for (const statement of [...recordStatements.slice(1), ...windowStatements, ...sequenceStatements]) await connection.run(statement);
    return await readResult(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Creates the macros that re-express JavaScript's and the schemas' semantics (./sql/js-semantics.ts). */
export async function defineMacros(connection: DuckDBConnection): Promise<void> {
  for (const macro of jsSemanticsMacros) await connection.run(macro);
}

/** A SQL string literal. */
function quote(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

async function rows(connection: DuckDBConnection, query: string): Promise<Record<string, unknown>[]> {
  return (await connection.runAndReadAll(query)).getRowObjectsJS() as Record<string, unknown>[];
}

/** Lines the reference cannot place; the engine would never see such records. */
async function checkLog(connection: DuckDBConnection, path: string): Promise<void> {
  const incomplete = await rows(
    connection,
    `SELECT rid FROM log_records WHERE topic IS NULL OR "partition" IS NULL OR "offset" IS NULL ORDER BY rid LIMIT 1`,
  );
  if (incomplete.length > 0) throw new Error(`${path}: record ${incomplete[0]!.rid} has no topic, partition or offset`);
  const duplicated = await rows(
    connection,
    `SELECT topic, "partition", "offset", count(*) AS n FROM log_records GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL LIMIT 1`,
  );
  if (duplicated.length > 0) {
    const d = duplicated[0]!;
    throw new Error(`${path}: ${d.n} records at ${d.topic}-${d.partition}@${d.offset}; offsets must be unique per partition`);
  }
}

const num = (v: unknown): number => Number(v as number | bigint);

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byCoordinates(a: RecordCoordinates, b: RecordCoordinates): number {
  return compareStrings(a.topic, b.topic) || a.partition - b.partition || a.offset - b.offset;
}

function byWindow(a: { pipeline: string; key: string; windowStart: number }, b: { pipeline: string; key: string; windowStart: number }): number {
  return compareStrings(a.pipeline, b.pipeline) || compareStrings(a.key, b.key) || a.windowStart - b.windowStart;
}

/**
 * A feature as the engine reports it: counts and sums as numbers, distinct values sorted (past the
 * feature's cap, the true count the engine's estimate must come close to), null for none.
 */
function featureValue(v: unknown, cap?: number): ReferenceWindow['features'][string] {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) {
    if (cap !== undefined && v.length > cap) return { approximate: true, count: v.length, relativeError: APPROXIMATE_RELATIVE_ERROR };
    return (v as string[]).slice().sort();
  }
  return num(v);
}

/** A window row as the reference reports it, with the features its pipeline declares. */
function windowOf(w: Record<string, unknown>): ReferenceWindow {
  const pipeline = w.pipeline as ReferencePipeline;
  const features: ReferenceWindow['features'] = {};
  for (const name of PIPELINE_FEATURES[pipeline]) features[name] = featureValue(w[name], DISTINCT_CAPS[pipeline]?.[name]);
  return { pipeline, key: w.key as string, windowStart: num(w.window_start), windowEnd: num(w.window_end), closed: w.closed === true, features };
}

async function readResult(connection: DuckDBConnection): Promise<ReferenceResult> {
  const windows: ReferenceWindow[] = (await rows(connection, `SELECT windows.*, closing.closed, closing.sealed FROM windows JOIN closing USING (pipeline, key, window_start)`)).map((w) => {
    const window = windowOf(w);
    const windowing = PIPELINE_WINDOWS[window.pipeline as ReferencePipeline];
    return isHopping(windowing) ? { ...window, sealed: w.sealed === true, bucketOf: { ...windowing } } : window;
  });
  windows.sort(byWindow);

  const hoppingWindows: ReferenceWindow[] = (
    await rows(connection, `SELECT hopping_windows.*, hopping_closing.closed FROM hopping_windows JOIN hopping_closing USING (pipeline, key, window_start)`)
  ).map(windowOf);
  hoppingWindows.sort(byWindow);

  const alerts: ReferenceAlert[] = (await rows(connection, `SELECT * FROM alerts`)).map((a) => ({
    pipeline: a.pipeline as string,
    key: a.key as string,
    windowStart: num(a.window_start),
    ruleId: a.rule_id as string,
    groupStart: num(a.group_start),
    matchingWindows: (a.matching_windows as unknown[]).map(num),
    level: (a.level as string | null) ?? null,
    alertType: a.alert_type as string,
  }));
  alerts.sort((a, b) => byWindow(a, b) || compareStrings(a.ruleId, b.ruleId));
  const alertGroups = Object.fromEntries(Object.entries(RULE_COOLDOWNS).map(([rule, cooldownMs]) => [rule, { pipeline: RULE_PIPELINES[rule]!, cooldownMs }]));

  const quarantinedOffsets: RecordCoordinates[] = (
    await rows(
      connection,
      `SELECT topic, "partition", "offset" FROM log_records
       WHERE rid NOT IN (SELECT rid FROM valid_events)`,
    )
  ).map((r) => ({ topic: r.topic as string, partition: num(r.partition), offset: num(r.offset) }));
  quarantinedOffsets.sort(byCoordinates);

  const lateEvents = (await rows(connection, `SELECT topic, "partition", "offset", pipeline FROM pipeline_events WHERE late`)).map((r) => ({
    topic: r.topic as string,
    partition: num(r.partition),
    offset: num(r.offset),
    pipeline: r.pipeline as string,
  }));
  lateEvents.sort((a, b) => byCoordinates(a, b) || compareStrings(a.pipeline, b.pipeline));

  const [totals] = await rows(
    connection,
    `SELECT (SELECT count(*) FROM log_records) AS records,
            (SELECT count(*) FROM valid_events) AS valid,
            (SELECT count(DISTINCT rid) FROM pipeline_events WHERE late) AS late_records`,
  );
  const late: Record<string, number> = Object.fromEntries(PIPELINES.map((p) => [p, 0]));
  for (const e of lateEvents) late[e.pipeline] = (late[e.pipeline] ?? 0) + 1;
  const records = num(totals!.records);
  const valid = num(totals!.valid);

  return {
    windows,
    alerts,
    hoppingWindows,
    alertGroups,
    counts: { records, valid, quarantined: records - valid, late, lateRecords: num(totals!.late_records) },
    quarantinedOffsets,
    lateEvents,
    ...(await readSequences(connection)),
  };
}

/** Sequence events and matches in ORDER within a rule and key. */
function bySequenceOrder(a: { key: string; eventTime: number; partition: number; offset: number }, b: typeof a): number {
  return compareStrings(a.key, b.key) || a.eventTime - b.eventTime || a.partition - b.partition || a.offset - b.offset;
}

async function readSequences(connection: DuckDBConnection): Promise<Pick<ReferenceResult, 'sequenceMatches' | 'sequenceSteps' | 'sequenceLate'>> {
  const rule = SEQUENCE_RULES[0]!;
  const [first, last] = rule.steps as [string, string];
  const sequenceMatches: ReferenceSequenceMatch[] = (await rows(connection, `SELECT * FROM sequence_matches`)).map((m) => {
    const key = m.key as string;
    const completing = { topic: m.topic as string, partition: num(m.payment_partition), offset: num(m.payment_offset), eventTime: num(m.payment_time) };
    const start = { step: first, partition: num(m.login_partition), offset: num(m.login_offset), eventTime: num(m.login_time) };
    return {
      ruleId: m.rule_id as string,
      alertType: m.alert_type as string,
      level: m.level as string,
      key,
      completing,
      matched: [start, { step: last, partition: completing.partition, offset: completing.offset, eventTime: completing.eventTime }],
      windowStart: start.eventTime,
      windowEnd: completing.eventTime,
      id: sequenceAlertId(m.rule_id as string, key, completing),
    };
  });
  sequenceMatches.sort((a, b) => compareStrings(a.ruleId, b.ruleId) || bySequenceOrder({ key: a.key, ...a.completing }, { key: b.key, ...b.completing }));

  const sequenceSteps: ReferenceStepEvent[] = (
    await rows(connection, `SELECT topic, "partition", "offset", key, event_time, login_step, payment_step FROM sequence_steps WHERE login_step OR payment_step`)
  ).map((e) => ({
    ruleId: rule.id,
    topic: e.topic as string,
    partition: num(e.partition),
    offset: num(e.offset),
    key: e.key as string,
    eventTime: num(e.event_time),
    steps: [...(e.login_step === true ? [first] : []), ...(e.payment_step === true ? [last] : [])],
  }));
  sequenceSteps.sort(bySequenceOrder);

  const sequenceLate: RecordCoordinates[] = (await rows(connection, `SELECT topic, "partition", "offset" FROM sequence_events WHERE late`)).map((r) => ({
    topic: r.topic as string,
    partition: num(r.partition),
    offset: num(r.offset),
  }));
  sequenceLate.sort(byCoordinates);
  return { sequenceMatches, sequenceSteps, sequenceLate };
}
