/**
 * Comparing what the system stored with what an independent reference computed over the same log.
 * Pure: no I/O, deterministic output (keys are visited in sorted order), so a report reads the same
 * on every run of the same seed.
 */
import { SEQUENCE_RULES, sequenceAlertId } from './reference/sequence-rules.ts';
import type { ReferenceResult, ReferenceSequenceRule } from './reference/types.ts';
import type { SystemSequenceAlert, SystemState, SystemWindow } from './system-state.ts';
import { recordIdOf } from '../../lib/codec/partition-id.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { eventCountFeatures } from '../../lib/pipelines/pipeline.ts';

/**
 * A distinct feature as a count: the system's past its cap (approximate, with a sample), or the
 * reference's expectation past the cap (the true count and the relative error allowed).
 */
interface DistinctCount {
  count: number;
  approximate: boolean;
  sample?: string[];
  relativeError?: number;
}
type FeatureValue = number | string[] | DistinctCount | null;
type FeatureMap = Record<string, FeatureValue>;

/** The features of each pipeline that count events: their difference is events lost or double counted. */
// Derived from the declarations (rejected readings are events too: counted, not aggregated, so
// losing one is losing an event), e.g. payments: count, iot: count and rejected.
export const EVENT_COUNT_FEATURES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(builtinPipelines.map((p) => [p.name, eventCountFeatures(p)]));

/** An alert as read back from the Kafka alert topic. */
export interface KafkaAlert {
  id: string;
  pipeline: string;
  key: string;
  windowStart: number;
  rule: string;
}

/**
 * What was read from the alert topic: the unique alerts and the number of messages (redeliveries
 * included), as local/runtime/alert-tail.ts's AlertTail holds them. A bare array is taken as the
 * alerts with no redelivery known (messages = unique ids).
 */
export type KafkaAlerts = KafkaAlert[] | { alerts: KafkaAlert[]; messages: number };

/**
 * What checking early alerts needs from the system under test, passed in so this module stays pure:
 * whether a rule holds on a record's features, and each directed feature's direction and the
 * value of an empty window (docs/design.md, "Early alerts").
 */
export interface EarlyChecks {
  satisfies(ruleId: string, features: Record<string, unknown>): boolean;
  /** By pipeline, then feature: only features with a direction. */
  features: Readonly<Record<string, Readonly<Record<string, { direction: 'up' | 'down'; empty: number | null }>>>>;
}

export interface CompareOptions {
  /**
   * Check every early alert: its firing features satisfy its rule and lie between the window's empty
   * state and its final (reference) features in each feature's direction; and every alert record of
   * a closed window carries its final features.
   */
  early?: EarlyChecks;
  /**
   * Whether a window the closer never closed is a difference (default true: a verify run ends by
   * closing everything, and an open window has had no chance to raise its alerts).
   */
  notClosedIsDifference?: boolean;
}

export type ExampleValue = string | number | boolean | null | string[];
/** One concrete instance of a difference, for the report: e.g. `{ window, feature, expected, actual }`. */
export type Example = Record<string, ExampleValue>;

/** Kinds of difference, each with up to MAX_EXAMPLES examples. */
export type DifferenceKind =
  | 'windowsDiffering'
  | 'windowsMissing'
  | 'windowsExtra'
  | 'windowsNotClosed'
  | 'windowsClosedEarly'
  | 'alertsMissing'
  | 'alertsExtra'
  | 'alertsDuplicated'
  | 'alertsLevelMismatch'
  | 'alertsTypeMismatch'
  | 'alertsWindowNotMatching'
  | 'alertsNotEarliest'
  | 'alertsFinalFeaturesDiffering'
  | 'alertsMissingOnKafka'
  | 'earlyAlertsNotMatching'
  | 'earlyAlertsOutOfRange'
  | 'alertsWithoutFinalFeatures'
  | 'alertsExtraOnKafka'
  | 'sequenceAlertsMissing'
  | 'sequenceAlertsExtra'
  | 'sequenceAlertsDuplicated'
  | 'sequenceAlertsIdMismatch'
  | 'sequenceAlertsLevelOrTypeMismatch'
  | 'sequenceAlertsUnreadable'
  | 'sequenceChainsInvalid'
  | 'sequenceChainsNotLatest'
  | 'quarantineMissing'
  | 'quarantineExtra'
  | 'lateMissing'
  | 'lateExtra'
  | 'sequenceLateMissing'
  | 'sequenceLateExtra';

export const MAX_EXAMPLES = 10;

export interface EventTally {
  /** Events the reference counted and the system did not. */
  lost: number;
  /** Events the system counted more often than the reference. */
  doubleCounted: number;
}

export interface SetComparison {
  expected: number;
  stored: number;
  missing: number;
  extra: number;
}

export interface Comparison {
  /** True when differences is 0. */
  ok: boolean;
  /** Every real difference; events lost/double counted and Kafka redeliveries are not added (see compare). */
  differences: number;
  /** notClosed: the reference says the final watermark passed the window, the system left it open; closedEarly: the reverse. */
  windows: { compared: number; matching: number; differing: number; missing: number; extra: number; notClosed: number; closedEarly: number };
  events: EventTally & { byPipeline: Record<string, EventTally> };
  alerts: {
    expected: number;
    /** Alert records in the system, duplicates included. */
    raised: number;
    missing: number;
    extra: number;
    /** Alert records beyond the first for the same (pipeline, key, windowStart, rule). */
    duplicated: number;
    levelMismatches: number;
    typeMismatches: number;
    /**
     * Hopping pipelines only: records whose window is not one of their group's matching windows;
     * records raised at close by another than the group's earliest matching window; records whose
     * final features are not the reference's features of their window.
     */
    windowNotMatching: number;
    notEarliest: number;
    finalFeaturesDiffering: number;
    /** Alert records raised early, at ingest; with `early` checks, what was found wrong with them. */
    early?: {
      raised: number;
      /** Firing features on which the rule does not hold. */
      notMatching: number;
      /** Firing features outside [empty window, final features] in some feature's direction. */
      outOfRange: number;
      /** Records of a closed window without the final features the closer adds. */
      withoutFinal: number;
    };
    kafka?: {
      /** Distinct alert ids seen on the topic. */
      unique: number;
      messages: number;
      /** Messages beyond the unique ids: at-least-once delivery, reported but not a difference. */
      redelivered: number;
      /** Alert records whose id never appeared on the topic. */
      missing: number;
      /** Ids on the topic with no alert record. */
      extra: number;
    };
  };
  /** Sequence alerts (pipeline 'sequence') against the reference's matches: see compareSequenceAlerts. */
  sequences: SequenceComparison;
  quarantine: SetComparison;
  late: SetComparison;
  examples: Partial<Record<DifferenceKind, Example[]>>;
}

export interface SequenceComparison {
  /** Matches the reference computed. */
  expected: number;
  /** Sequence alert records in the system, duplicates included. */
  raised: number;
  missing: number;
  extra: number;
  /** Records beyond the first for one (rule, key, completing partition and offset). */
  duplicated: number;
  /** Records whose id is not the one SEQ-SEMANTICS derives from the rule, key and completing event. */
  idMismatches: number;
  levelOrTypeMismatches: number;
  /** Records without a readable `matched` chain: nothing to compare them by. */
  unreadable: number;
  /** Records whose chain is no valid chain of their rule (steps, ORDER, within, window bounds). */
  invalidChains: number;
  /**
   * Valid chains other than the reference's latest one. Not a difference: the engine fires as soon
   * as a chain completes, and a later first step arriving afterwards on another partition changes
   * the latest chain but not the alert (SEQ-SEMANTICS, "Known limit").
   */
  notLatest: number;
  /** Events late for sequences (turned away, not applied): the reference's, against the late side records naming `sequence`. */
  late: SetComparison;
}

/** The id a window is reported under: "<pipeline>|<key>|<windowStart>". */
export function windowId(w: { pipeline: string; key: string; windowStart: number }): string {
  return `${w.pipeline}|${w.key}|${w.windowStart}`;
}

function alertKey(a: { pipeline: string; key: string; windowStart: number }, rule: string): string {
  return `${a.pipeline}|${a.key}|${a.windowStart}|${rule}`;
}

/**
 * The cooldown group an alert record belongs to, by the reference's grouping: floor(windowStart /
 * cooldown) * cooldown for a rule the reference groups, the window itself otherwise (tumbling
 * windows, whose group is the window).
 */
function groupStartOf(reference: ReferenceResult, a: { pipeline: string; windowStart: number }, rule: string): number {
  const group = reference.alertGroups?.[rule];
  if (!group || group.pipeline !== a.pipeline) return a.windowStart;
  return Math.floor(a.windowStart / group.cooldownMs) * group.cooldownMs;
}

/** The id an alert is compared under: "<pipeline>|<key>|<groupStart>|<rule>" (groupStart = windowStart for tumbling windows). */
function groupKey(reference: ReferenceResult, a: { pipeline: string; key: string; windowStart: number }, rule: string): string {
  return alertKey({ ...a, windowStart: groupStartOf(reference, a, rule) }, rule);
}

/** The reference's hopping windows by id, and the pipelines that have them. */
function hoppingOf(reference: ReferenceResult): { windows: Map<string, ReferenceResult['windows'][number]>; pipelines: Set<string> } {
  const windows = new Map((reference.hoppingWindows ?? []).map((w) => [windowId(w), w]));
  const pipelines = new Set(reference.windows.flatMap((w) => (w.bucketOf ? [w.pipeline] : [])));
  for (const w of reference.hoppingWindows ?? []) pipelines.add(w.pipeline);
  return { windows, pipelines };
}

function coordinates(r: { topic: string; partition: number; offset: number }): string {
  return recordIdOf(r.topic, r.partition, r.offset);
}

/** Numbers equal within 1e-6 absolute or 1e-9 relative (float sums depend on the order of addition). */
export function sameNumber(a: number, b: number): boolean {
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return true;
  const d = Math.abs(a - b);
  return d <= 1e-6 || d <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

const isCount = (v: FeatureValue | undefined): v is DistinctCount => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Feature values equal: numbers within tolerance, arrays as sets, null only to null; absent only to
 * absent. A distinct feature past its cap matches when one side is the reference's expectation and
 * the other an approximate count within its relative error of the true count.
 */
export function sameFeature(a: FeatureValue | undefined, b: FeatureValue | undefined): boolean {
  if (typeof a === 'number' && typeof b === 'number') return sameNumber(a, b);
  if (isCount(a) || isCount(b)) {
    if (!isCount(a) || !isCount(b) || !a.approximate || !b.approximate) return false;
    const bound = a.relativeError ?? b.relativeError;
    if (bound === undefined) return a.count === b.count;
    const truth = a.relativeError !== undefined ? a.count : b.count;
    return Math.abs(a.count - b.count) <= bound * truth;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const sa = new Set(a);
    const sb = new Set(b);
    return sa.size === sb.size && [...sa].every((v) => sb.has(v));
  }
  return a === b;
}

/** Collects up to MAX_EXAMPLES examples per kind, counting them all. */
class Examples {
  readonly byKind: Partial<Record<DifferenceKind, Example[]>> = {};
  add(kind: DifferenceKind, example: Example): void {
    const list = (this.byKind[kind] ??= []);
    if (list.length < MAX_EXAMPLES) list.push(example);
  }
}

const shown = (v: FeatureValue | undefined): ExampleValue =>
  v === undefined ? '(absent)' : isCount(v) ? `${v.approximate ? '~' : ''}${v.count}${v.relativeError !== undefined ? ` ±${(v.relativeError * 100).toFixed(1)}%` : ''}` : v;

/** Events a window's features count, per event-count feature of its pipeline (null as 0). */
function eventCounts(pipeline: string, features: FeatureMap | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of EVENT_COUNT_FEATURES[pipeline] ?? []) {
    const v = features?.[name];
    out.set(name, typeof v === 'number' ? v : 0);
  }
  return out;
}

function compareWindows(reference: ReferenceResult, system: SystemState, examples: Examples, options: { notClosedIsDifference: boolean }) {
  const expected = new Map<string, ReferenceResult['windows'][number]>();
  for (const w of reference.windows) {
    const id = windowId(w);
    // Two reference rows for one window would make the comparison meaningless: a reference bug.
    if (expected.has(id)) throw new Error(`reference has window ${id} twice`);
    expected.set(id, w);
  }
  const actual = new Map<string, SystemWindow>(system.windows.map((w) => [windowId(w), w]));
  const ids = [...new Set([...expected.keys(), ...actual.keys()])].sort();

  const windows = { compared: ids.length, matching: 0, differing: 0, missing: 0, extra: 0, notClosed: 0, closedEarly: 0 };
  const byPipeline: Record<string, EventTally> = {};
  for (const id of ids) {
    const ref = expected.get(id);
    const sys = actual.get(id);
    const pipeline = (ref ?? sys)!.pipeline;

    // Events: compared per event-count feature, so a window that gained one and lost another shows both.
    const tally = (byPipeline[pipeline] ??= { lost: 0, doubleCounted: 0 });
    const refCounts = eventCounts(pipeline, ref?.features);
    const sysCounts = eventCounts(pipeline, sys?.features);
    let events = 0;
    for (const [name, r] of refCounts) {
      const delta = sysCounts.get(name)! - r;
      if (delta > 0) tally.doubleCounted += delta;
      else tally.lost -= delta;
      events += ref ? r : sysCounts.get(name)!;
    }

    // A reference without a closing verdict means every window closes (a run that ends by closing all).
    const shouldBeClosed = ref?.closed ?? true;
    // A bucket may be closed from its own end on (sealed), and must be once its last window closed.
    const mayBeClosed = ref?.sealed ?? shouldBeClosed;
    if (sys && !sys.closed && shouldBeClosed) {
      windows.notClosed++;
      examples.add('windowsNotClosed', { window: id });
    }
    if (sys && sys.closed && !mayBeClosed) {
      windows.closedEarly++;
      examples.add('windowsClosedEarly', { window: id });
    }
    if (!sys) {
      windows.missing++;
      examples.add('windowsMissing', { window: id, events });
      continue;
    }
    if (!ref) {
      windows.extra++;
      examples.add('windowsExtra', { window: id, events });
      continue;
    }
    const names = [...new Set([...Object.keys(ref.features), ...Object.keys(sys.features)])].sort();
    let differs = false;
    for (const feature of names) {
      const e = ref.features[feature];
      const a = sys.features[feature];
      if (sameFeature(e, a)) continue;
      differs = true;
      examples.add('windowsDiffering', { window: id, feature, expected: shown(e), actual: shown(a) });
    }
    if (differs) windows.differing++;
    else windows.matching++;
  }
  const events = Object.values(byPipeline).reduce((t, p) => ({ lost: t.lost + p.lost, doubleCounted: t.doubleCounted + p.doubleCounted }), { lost: 0, doubleCounted: 0 });
  const notClosedCounted = options.notClosedIsDifference ? windows.notClosed : 0;
  return { windows, events: { ...events, byPipeline }, differences: windows.differing + windows.missing + windows.extra + windows.closedEarly + notClosedCounted };
}

function normaliseKafka(kafka: KafkaAlerts): { alerts: KafkaAlert[]; messages: number } {
  return Array.isArray(kafka) ? { alerts: kafka, messages: new Set(kafka.map((a) => a.id)).size } : kafka;
}

/** A feature value as a number: a count for a distinct feature (exact or estimated), null for none. */
function magnitude(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'object' && v !== null && typeof (v as DistinctCount).count === 'number') return (v as DistinctCount).count;
  return null;
}

/**
 * Why an early alert's firing value of one feature is not between the empty window and the final
 * value in the feature's direction; undefined when it is. Estimates may differ by their error.
 */
function outOfRange(fired: unknown, final: FeatureValue | undefined, spec: { direction: 'up' | 'down'; empty: number | null }): string | undefined {
  const f = magnitude(fired);
  const last = magnitude(final);
  if (f === null) return last === null || spec.empty === null ? undefined : 'no value where an empty window has one';
  if (last === null) return 'a value where the final window has none';
  const slack = isCount(final) && final.relativeError !== undefined ? final.relativeError * final.count : 0;
  const within = (a: number, b: number) => a <= b + slack || sameNumber(a, b);
  if (spec.direction === 'up') {
    if (!within(f, last)) return `${f} is above the final ${last}`;
    if (spec.empty !== null && !within(spec.empty, f)) return `${f} is below an empty window's ${spec.empty}`;
  } else {
    if (!within(last, f)) return `${f} is below the final ${last}`;
    if (spec.empty !== null && !within(f, spec.empty)) return `${f} is above an empty window's ${spec.empty}`;
  }
  // An exact final set holds every value an early sample showed.
  const sample = typeof fired === 'object' && fired !== null ? (fired as DistinctCount).sample : undefined;
  if (sample && Array.isArray(final)) {
    const values = new Set(final);
    const stray = sample.find((v) => !values.has(v));
    if (stray !== undefined) return `its sample holds "${stray}", which the final window does not`;
  }
  return undefined;
}

function checkEarly(reference: ReferenceResult, system: SystemState, early: EarlyChecks, examples: Examples) {
  const windows = new Map(reference.windows.map((w) => [windowId(w), w]));
  const closed = new Map(system.windows.map((w) => [windowId(w), w.closed]));
  // A hopping window is never stored: its final features and whether it closed are the reference's.
  const hopping = hoppingOf(reference);
  const result = { raised: 0, notMatching: 0, outOfRange: 0, withoutFinal: 0 };
  for (const a of [...system.alerts].sort((x, y) => x.id.localeCompare(y.id))) {
    const key = alertKey(a, a.ruleId);
    const isHopping = hopping.pipelines.has(a.pipeline);
    const windowClosed = isHopping ? hopping.windows.get(windowId(a))?.closed : closed.get(windowId(a));
    if (windowClosed && a.finalFeatures === undefined) {
      result.withoutFinal++;
      examples.add('alertsWithoutFinalFeatures', { alert: key, id: a.id });
    }
    if (a.timing !== 'early') continue;
    result.raised++;
    if (!early.satisfies(a.ruleId, a.features ?? {})) {
      result.notMatching++;
      examples.add('earlyAlertsNotMatching', { alert: key, features: JSON.stringify(a.features) });
    }
    const final = (isHopping ? hopping.windows : windows).get(windowId(a))?.features;
    // A window the reference does not have is already an alert difference (extra, or not matching).
    if (!final) continue;
    for (const [feature, spec] of Object.entries(early.features[a.pipeline] ?? {}).sort(([x], [y]) => x.localeCompare(y))) {
      const why = outOfRange(a.features?.[feature], final[feature], spec);
      if (why === undefined) continue;
      result.outOfRange++;
      examples.add('earlyAlertsOutOfRange', { alert: key, feature, direction: spec.direction, problem: why });
      break;
    }
  }
  return result;
}

function compareAlerts(reference: ReferenceResult, system: SystemState, kafka: { alerts: KafkaAlert[]; messages: number } | undefined, examples: Examples, early?: EarlyChecks) {
  // Alerts are one per (pipeline, key, rule, cooldown group); for tumbling windows a group is a window.
  const expected = new Map(reference.alerts.map((a) => [alertKey({ ...a, windowStart: a.groupStart ?? a.windowStart }, a.ruleId), a]));
  const hopping = hoppingOf(reference);
  const records = new Map<string, SystemState['alerts']>();
  for (const a of system.alerts) {
    const key = groupKey(reference, a, a.ruleId);
    const list = records.get(key);
    if (list) list.push(a);
    else records.set(key, [a]);
  }

  let missing = 0;
  let extra = 0;
  let duplicated = 0;
  let levelMismatches = 0;
  let typeMismatches = 0;
  const hoppingChecks = { windowNotMatching: 0, notEarliest: 0, finalFeaturesDiffering: 0 };
  for (const key of [...new Set([...expected.keys(), ...records.keys()])].sort()) {
    const ref = expected.get(key);
    const recs = records.get(key);
    if (!recs) {
      missing++;
      examples.add('alertsMissing', { alert: key, level: ref!.level, alertType: ref!.alertType });
      continue;
    }
    // Ids are deterministic, so a second record for one logical alert means ids or keys drifted.
    if (recs.length > 1) {
      duplicated += recs.length - 1;
      examples.add('alertsDuplicated', { alert: key, records: recs.length, ids: recs.map((r) => r.id).sort() });
    }
    if (!ref) {
      extra++;
      examples.add('alertsExtra', { alert: key, id: recs[0]!.id, level: recs[0]!.level });
      continue;
    }
    const rec = recs[0]!;
    if ((ref.level ?? null) !== rec.level) {
      levelMismatches++;
      examples.add('alertsLevelMismatch', { alert: key, expected: ref.level ?? null, actual: rec.level });
    }
    if (ref.alertType !== rec.alertType) {
      typeMismatches++;
      examples.add('alertsTypeMismatch', { alert: key, expected: ref.alertType, actual: rec.alertType });
    }
    if (hopping.pipelines.has(rec.pipeline)) checkHoppingRecord(ref, rec, key, hopping.windows, hoppingChecks, examples);
  }

  const alerts: Comparison['alerts'] = { expected: expected.size, raised: system.alerts.length, missing, extra, duplicated, levelMismatches, typeMismatches, ...hoppingChecks };
  let differences = missing + extra + duplicated + levelMismatches + typeMismatches + hoppingChecks.windowNotMatching + hoppingChecks.notEarliest + hoppingChecks.finalFeaturesDiffering;
  if (early) {
    alerts.early = checkEarly(reference, system, early, examples);
    differences += alerts.early.notMatching + alerts.early.outOfRange + alerts.early.withoutFinal;
  } else {
    const raised = system.alerts.filter((a) => a.timing === 'early').length;
    if (raised > 0) alerts.early = { raised, notMatching: 0, outOfRange: 0, withoutFinal: 0 };
  }

  if (kafka) {
    const onTopic = new Map(kafka.alerts.map((a) => [a.id, a]));
    // Sequence alerts go through the same outbox and dispatcher: each must reach the topic too.
    const all = [
      ...system.alerts.map((a) => ({ id: a.id, alert: alertKey(a, a.ruleId) })),
      ...(system.sequenceAlerts ?? []).map((a) => ({ id: a.id, alert: `sequence|${a.key}|${a.ruleId}` })),
    ];
    const recordIds = new Set(all.map((a) => a.id));
    let missingOnKafka = 0;
    let extraOnKafka = 0;
    for (const a of all.sort((x, y) => x.id.localeCompare(y.id))) {
      if (onTopic.has(a.id)) continue;
      missingOnKafka++;
      examples.add('alertsMissingOnKafka', a);
    }
    for (const [id, a] of [...onTopic].sort(([x], [y]) => x.localeCompare(y))) {
      if (recordIds.has(id)) continue;
      extraOnKafka++;
      examples.add('alertsExtraOnKafka', { id, alert: alertKey(a, a.rule) });
    }
    alerts.kafka = {
      unique: onTopic.size,
      messages: kafka.messages,
      redelivered: Math.max(0, kafka.messages - onTopic.size),
      missing: missingOnKafka,
      extra: extraOnKafka,
    };
    differences += missingOnKafka + extraOnKafka;
  }
  return { alerts, differences };
}

/**
 * Whether an output feature (a record's: numbers, and distinct features as { count, approximate,
 * sample }) is the reference's value: numbers within tolerance, an exact set by its size and a
 * sample drawn from it, an estimate within its error.
 */
export function sameOutputFeature(expected: FeatureValue | undefined, actual: unknown): boolean {
  if (Array.isArray(expected)) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return false;
    const out = actual as DistinctCount;
    const values = new Set(expected);
    return out.count === values.size && out.approximate === false && (out.sample ?? []).every((v) => values.has(v));
  }
  if (isCount(expected)) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return false;
    return sameFeature(expected, { count: (actual as DistinctCount).count, approximate: (actual as DistinctCount).approximate === true });
  }
  if (typeof expected === 'number') return typeof actual === 'number' && sameNumber(expected, actual);
  return expected === (actual === undefined ? undefined : actual);
}

/**
 * A hopping pipeline's alert record against its group: its window one of the group's matching
 * windows (the earliest when raised at close, as windows close in end order), and its final
 * features those of that window.
 */
function checkHoppingRecord(
  ref: ReferenceResult['alerts'][number],
  rec: SystemState['alerts'][number],
  key: string,
  windows: Map<string, ReferenceResult['windows'][number]>,
  counts: { windowNotMatching: number; notEarliest: number; finalFeaturesDiffering: number },
  examples: Examples,
): void {
  const matching = ref.matchingWindows ?? [ref.windowStart];
  const window = windows.get(windowId(rec));
  const endRight = rec.windowEnd === undefined || (window !== undefined && rec.windowEnd === window.windowEnd);
  if (!matching.includes(rec.windowStart) || !endRight) {
    counts.windowNotMatching++;
    examples.add('alertsWindowNotMatching', { alert: key, id: rec.id, windowStart: rec.windowStart, windowEnd: rec.windowEnd ?? null, matching: matching.map(String) });
    return;
  }
  if (rec.timing !== 'early' && rec.windowStart !== matching[0]) {
    counts.notEarliest++;
    examples.add('alertsNotEarliest', { alert: key, id: rec.id, windowStart: rec.windowStart, earliest: matching[0]! });
  }
  if (rec.finalFeatures === undefined || !window) return;
  const names = [...new Set([...Object.keys(window.features), ...Object.keys(rec.finalFeatures)])].sort();
  for (const feature of names) {
    if (sameOutputFeature(window.features[feature], rec.finalFeatures[feature])) continue;
    counts.finalFeaturesDiffering++;
    examples.add('alertsFinalFeaturesDiffering', { alert: key, id: rec.id, window: windowId(rec), feature, expected: shown(window.features[feature]), actual: JSON.stringify(rec.finalFeatures[feature] ?? null) });
    return;
  }
}

/** Compares two sets of record ids, each id with the example it is reported as. */
function compareSets(expected: Map<string, Example>, stored: Map<string, Example>, examples: Examples, missingKind: DifferenceKind, extraKind: DifferenceKind): SetComparison {
  const result = { expected: expected.size, stored: stored.size, missing: 0, extra: 0 };
  for (const id of [...expected.keys()].sort()) {
    if (stored.has(id)) continue;
    result.missing++;
    examples.add(missingKind, expected.get(id)!);
  }
  for (const id of [...stored.keys()].sort()) {
    if (expected.has(id)) continue;
    result.extra++;
    examples.add(extraKind, stored.get(id)!);
  }
  return result;
}

/** "<rule>|<key>|<partition>:<offset>": a sequence alert by its completing event (the rule names the topic). */
function sequenceAlertKey(ruleId: string, key: string, completing: { partition: number; offset: number }): string {
  return `${ruleId}|${key}|${completing.partition}:${completing.offset}`;
}

/** Strictly before in ORDER = (eventTime, partition, offset). */
function before(a: { eventTime: number; partition: number; offset: number }, b: typeof a): boolean {
  return a.eventTime < b.eventTime || (a.eventTime === b.eventTime && (a.partition < b.partition || (a.partition === b.partition && a.offset < b.offset)));
}

/**
 * Why a record's chain is no valid chain of its rule, checked against the reference's step flags;
 * undefined when it is one: one entry per step, in the rule's order, each an applied event of the
 * key that satisfies its step (with the event time the log gives it), strictly increasing in ORDER,
 * the last at most `within` after the first, and the record's window its first and last event times.
 */
function chainProblem(a: SystemSequenceAlert, rule: ReferenceSequenceRule, steps: Map<string, { eventTime: number; steps: string[] }>): string | undefined {
  const chain = a.matched!;
  if (chain.length !== rule.steps.length) return `${chain.length} events for ${rule.steps.length} steps`;
  for (const [i, e] of chain.entries()) {
    if (e.step !== rule.steps[i]) return `entry ${i} is step "${e.step}", the rule's is "${rule.steps[i]}"`;
    const flags = steps.get(`${rule.id}|${a.key}|${e.partition}:${e.offset}`);
    if (!flags || !flags.steps.includes(e.step)) return `${e.partition}:${e.offset} does not satisfy step "${e.step}" for key ${a.key}`;
    if (flags.eventTime !== e.eventTime) return `${e.partition}:${e.offset} has event time ${flags.eventTime}, the record says ${e.eventTime}`;
    if (i > 0 && !before(chain[i - 1]!, e)) return `entry ${i} is not after entry ${i - 1} in (eventTime, partition, offset)`;
  }
  const span = chain.at(-1)!.eventTime - chain[0]!.eventTime;
  if (span > rule.withinMs) return `spans ${span} ms, over within ${rule.withinMs} ms`;
  if (a.windowStart !== chain[0]!.eventTime || a.windowEnd !== chain.at(-1)!.eventTime) return `window ${a.windowStart}-${a.windowEnd} is not the chain's ${chain[0]!.eventTime}-${chain.at(-1)!.eventTime}`;
  return undefined;
}

const chainText = (chain: readonly { step: string; partition: number; offset: number }[]) => chain.map((e) => `${e.step}@${e.partition}:${e.offset}`).join(',');

/**
 * Compares the sequence alert records with the reference's matches: by (rule, key, completing
 * partition and offset), the completing event read from the record's last `matched` entry. Counts
 * missing, extra and duplicated records, ids other than the one derived from the completing event,
 * level or type other than the rule's, records with no readable chain, and chains that are no valid
 * chain of the rule (by the reference's per-event step flags). A valid chain other than the latest
 * is reported, not counted (SequenceComparison.notLatest). Pure; examples go to `examples` when given.
 */
export function compareSequenceAlerts(
  reference: Pick<ReferenceResult, 'sequenceMatches' | 'sequenceSteps' | 'sequenceLate'>,
  records: readonly SystemSequenceAlert[],
  examples: { add(kind: DifferenceKind, example: Example): void } = new Examples(),
  rules: readonly ReferenceSequenceRule[] = SEQUENCE_RULES,
): { sequences: SequenceComparison; differences: number } {
  const ruleById = new Map(rules.map((r) => [r.id, r]));
  const expected = new Map(reference.sequenceMatches.map((m) => [sequenceAlertKey(m.ruleId, m.key, m.completing), m]));
  const steps = new Map(reference.sequenceSteps.map((e) => [sequenceAlertKey(e.ruleId, e.key, e), e]));
  const result: SequenceComparison = {
    expected: expected.size,
    raised: records.length,
    missing: 0,
    extra: 0,
    duplicated: 0,
    idMismatches: 0,
    levelOrTypeMismatches: 0,
    unreadable: 0,
    invalidChains: 0,
    notLatest: 0,
    late: { expected: reference.sequenceLate.length, stored: 0, missing: 0, extra: 0 },
  };

  const byKey = new Map<string, SystemSequenceAlert[]>();
  for (const a of [...records].sort((x, y) => x.id.localeCompare(y.id))) {
    const rule = ruleById.get(a.ruleId);
    if (!a.matched || a.matched.length === 0) {
      result.unreadable++;
      examples.add('sequenceAlertsUnreadable', { id: a.id, rule: a.ruleId, key: a.key });
      continue;
    }
    if (!rule) {
      // No rule the reference knows: nothing it can have expected.
      result.extra++;
      examples.add('sequenceAlertsExtra', { id: a.id, rule: a.ruleId, key: a.key, chain: chainText(a.matched) });
      continue;
    }
    const completing = a.matched.at(-1)!;
    const id = sequenceAlertId(rule.id, a.key, { topic: rule.topic, partition: completing.partition, offset: completing.offset });
    if (a.id !== id) {
      result.idMismatches++;
      examples.add('sequenceAlertsIdMismatch', { alert: sequenceAlertKey(rule.id, a.key, completing), expected: id, actual: a.id });
    }
    const problem = chainProblem(a, rule, steps);
    if (problem !== undefined) {
      result.invalidChains++;
      examples.add('sequenceChainsInvalid', { id: a.id, key: a.key, chain: chainText(a.matched), problem });
    }
    const key = sequenceAlertKey(rule.id, a.key, completing);
    const list = byKey.get(key);
    if (list) list.push(a);
    else byKey.set(key, [a]);
  }

  for (const key of [...new Set([...expected.keys(), ...byKey.keys()])].sort()) {
    const ref = expected.get(key);
    const recs = byKey.get(key);
    if (!recs) {
      result.missing++;
      examples.add('sequenceAlertsMissing', { alert: key, id: ref!.id, chain: chainText(ref!.matched) });
      continue;
    }
    if (recs.length > 1) {
      result.duplicated += recs.length - 1;
      examples.add('sequenceAlertsDuplicated', { alert: key, records: recs.length, ids: recs.map((r) => r.id) });
    }
    if (!ref) {
      result.extra++;
      examples.add('sequenceAlertsExtra', { alert: key, id: recs[0]!.id, chain: chainText(recs[0]!.matched!) });
      continue;
    }
    const rec = recs[0]!;
    if (rec.level !== ref.level || rec.alertType !== ref.alertType) {
      result.levelOrTypeMismatches++;
      examples.add('sequenceAlertsLevelOrTypeMismatch', { alert: key, expected: `${ref.level} ${ref.alertType}`, actual: `${rec.level} ${rec.alertType}` });
    }
    if (chainText(rec.matched!) !== chainText(ref.matched)) {
      result.notLatest++;
      examples.add('sequenceChainsNotLatest', { alert: key, latest: chainText(ref.matched), recorded: chainText(rec.matched!) });
    }
  }
  const differences = result.missing + result.extra + result.duplicated + result.idMismatches + result.levelOrTypeMismatches + result.unreadable + result.invalidChains;
  return { sequences: result, differences };
}

const byRecord = (rs: { topic: string; partition: number; offset: number }[]) => new Map(rs.map((r) => [coordinates(r), { record: coordinates(r) }]));
const byLate = (rs: { topic: string; partition: number; offset: number; pipeline: string }[]) =>
  new Map(rs.map((r) => [`${coordinates(r)}#${r.pipeline}`, { record: coordinates(r), pipeline: r.pipeline }]));

/**
 * Compares the system's stored state (and, when given, what reached the alert topic) with the
 * reference computation over the same log.
 *
 * `differences` adds up windows differing, missing, extra and (by default) not closed; alerts
 * missing, extra, duplicated and mismatched in level or type, alerts counted per (pipeline, key,
 * rule, cooldown group), a group being the window for tumbling windows; for hopping pipelines,
 * records whose window is not a matching window of their group (or, raised at close, not its
 * earliest) and records whose final features are not their window's; sequence alerts missing,
 * extra, duplicated, with a wrong id, level or type, without a chain or with an invalid one
 * (compareSequenceAlerts); alert records (window and sequence) missing from Kafka and Kafka ids
 * without a record; with `early`, early alerts whose firing features do not satisfy their
 * rule or lie outside [empty window, final features], and records of closed windows without final
 * features; quarantined and late records missing or extra. Events lost and double
 * counted are not added: they are the same faults as the window differences, seen by event. Kafka
 * redeliveries are not differences either: the topic is at-least-once by design.
 *
 * @param kafka what was read back from the alert topic: `{ alerts, messages }` (alerts unique by id,
 *   messages counting redeliveries) or a bare array of alerts; omit when the topic was not read.
 */
export function compare(reference: ReferenceResult, system: SystemState, kafka?: KafkaAlerts, options: CompareOptions = {}): Comparison {
  const examples = new Examples();
  const w = compareWindows(reference, system, examples, { notClosedIsDifference: options.notClosedIsDifference ?? true });
  const a = compareAlerts(reference, system, kafka && normaliseKafka(kafka), examples, options.early);
  const seq = compareSequenceAlerts(reference, system.sequenceAlerts ?? [], examples);
  const quarantine = compareSets(byRecord(reference.quarantinedOffsets), byRecord(system.quarantined), examples, 'quarantineMissing', 'quarantineExtra');
  // Late side records naming `sequence` are the sequence rules' (one per record); every other is a window pipeline's.
  const sequenceLate = system.late.filter((l) => l.pipeline === 'sequence');
  seq.sequences.late = compareSets(byRecord(reference.sequenceLate), byRecord(sequenceLate), examples, 'sequenceLateMissing', 'sequenceLateExtra');
  const late = compareSets(byLate(reference.lateEvents), byLate(system.late.filter((l) => l.pipeline !== 'sequence')), examples, 'lateMissing', 'lateExtra');
  const differences =
    w.differences + a.differences + seq.differences + seq.sequences.late.missing + seq.sequences.late.extra + quarantine.missing + quarantine.extra + late.missing + late.extra;
  return { ok: differences === 0, differences, windows: w.windows, events: w.events, alerts: a.alerts, sequences: seq.sequences, quarantine, late, examples: examples.byKind };
}
