/** The plain-text verification report: aligned columns, no colours, so it reads the same in CI logs. */
import type { Comparison, DifferenceKind, Example, ExampleValue } from './compare.ts';

const LABEL_WIDTH = 30;
const VALUE_WIDTH = 10;
/** Long values (distinct sets of a busy window) are cut so one example stays on one line. */
const MAX_VALUE_CHARS = 80;

const EXAMPLE_TITLES: Record<DifferenceKind, string> = {
  windowsDiffering: 'windows differing',
  windowsMissing: 'windows missing',
  windowsExtra: 'windows extra',
  windowsNotClosed: 'windows not closed',
  windowsClosedEarly: 'windows closed before the watermark passed them',
  alertsMissing: 'alerts missing',
  alertsExtra: 'alerts extra',
  alertsDuplicated: 'alerts duplicated',
  alertsLevelMismatch: 'alert level mismatches',
  alertsTypeMismatch: 'alert type mismatches',
  alertsWindowNotMatching: 'alerts whose window is not a matching window of their group',
  alertsNotEarliest: 'alerts raised at close by a later than the earliest matching window',
  alertsFinalFeaturesDiffering: 'alerts whose final features are not their window\'s',
  alertsMissingOnKafka: 'alerts missing on Kafka',
  alertsExtraOnKafka: 'alerts on Kafka without a record',
  earlyAlertsNotMatching: 'early alerts whose firing features do not match the rule',
  earlyAlertsOutOfRange: 'early alerts with features outside [empty window, final]',
  alertsWithoutFinalFeatures: 'alerts of closed windows without final features',
  sequenceAlertsMissing: 'sequence alerts missing',
  sequenceAlertsExtra: 'sequence alerts extra',
  sequenceAlertsDuplicated: 'sequence alerts duplicated',
  sequenceAlertsIdMismatch: 'sequence alerts whose id is not derived from their completing event',
  sequenceAlertsLevelOrTypeMismatch: 'sequence alert level or type mismatches',
  sequenceAlertsUnreadable: 'sequence alerts without a readable matched chain',
  sequenceChainsInvalid: 'sequence alerts whose chain is no valid chain of the rule',
  sequenceChainsNotLatest: 'sequence alerts with a valid chain other than the latest (not a difference)',
  quarantineMissing: 'quarantined records missing',
  quarantineExtra: 'quarantined records extra',
  lateMissing: 'late records missing',
  lateExtra: 'late records extra',
  sequenceLateMissing: 'events late for sequences without a late side record',
  sequenceLateExtra: 'late side records naming sequence the reference does not find late',
};

function row(label: string, value: string | number, note = ''): string {
  return `  ${label.padEnd(LABEL_WIDTH)}${String(value).padStart(VALUE_WIDTH)}${note ? `  ${note}` : ''}`;
}

function value(v: ExampleValue): string {
  const s = Array.isArray(v) ? `[${v.join(',')}]` : v === null ? 'null' : String(v);
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS - 3)}...` : s;
}

function example(e: Example): string {
  return Object.entries(e)
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
}

/** How many differences of a kind there are; the examples are the first few (per feature, for windows differing). */
function totalOf(c: Comparison, kind: DifferenceKind): number {
  const totals: Record<DifferenceKind, number> = {
    windowsDiffering: c.windows.differing,
    windowsMissing: c.windows.missing,
    windowsExtra: c.windows.extra,
    windowsNotClosed: c.windows.notClosed,
    windowsClosedEarly: c.windows.closedEarly,
    alertsMissing: c.alerts.missing,
    alertsExtra: c.alerts.extra,
    alertsDuplicated: c.alerts.duplicated,
    alertsLevelMismatch: c.alerts.levelMismatches,
    alertsTypeMismatch: c.alerts.typeMismatches,
    alertsWindowNotMatching: c.alerts.windowNotMatching,
    alertsNotEarliest: c.alerts.notEarliest,
    alertsFinalFeaturesDiffering: c.alerts.finalFeaturesDiffering,
    alertsMissingOnKafka: c.alerts.kafka?.missing ?? 0,
    alertsExtraOnKafka: c.alerts.kafka?.extra ?? 0,
    earlyAlertsNotMatching: c.alerts.early?.notMatching ?? 0,
    earlyAlertsOutOfRange: c.alerts.early?.outOfRange ?? 0,
    alertsWithoutFinalFeatures: c.alerts.early?.withoutFinal ?? 0,
    sequenceAlertsMissing: c.sequences.missing,
    sequenceAlertsExtra: c.sequences.extra,
    sequenceAlertsDuplicated: c.sequences.duplicated,
    sequenceAlertsIdMismatch: c.sequences.idMismatches,
    sequenceAlertsLevelOrTypeMismatch: c.sequences.levelOrTypeMismatches,
    sequenceAlertsUnreadable: c.sequences.unreadable,
    sequenceChainsInvalid: c.sequences.invalidChains,
    sequenceChainsNotLatest: c.sequences.notLatest,
    quarantineMissing: c.quarantine.missing,
    quarantineExtra: c.quarantine.extra,
    lateMissing: c.late.missing,
    lateExtra: c.late.extra,
    sequenceLateMissing: c.sequences.late.missing,
    sequenceLateExtra: c.sequences.late.extra,
  };
  return totals[kind];
}

/**
 * Formats a comparison as a report: the run's metadata, windows, events, alerts (and Kafka),
 * sequence alerts, quarantined and late records, the faults injected by kind, examples of each difference, and a
 * last line `RESULT: OK (0 differences)` or `RESULT: FAILED (N differences)`.
 */
export function formatComparison(c: Comparison, extra: { faults?: Record<string, number>; meta?: Record<string, string | number> } = {}): string {
  const lines: string[] = ['streamguard verify'];
  if (extra.meta && Object.keys(extra.meta).length > 0) {
    for (const [k, v] of Object.entries(extra.meta)) lines.push(row(k, v));
  }

  lines.push('', 'windows');
  lines.push(row('compared', c.windows.compared), row('matching', c.windows.matching), row('differing', c.windows.differing));
  lines.push(row('missing', c.windows.missing), row('extra', c.windows.extra), row('not closed', c.windows.notClosed), row('closed early', c.windows.closedEarly));

  lines.push('', 'events');
  lines.push(row('lost', c.events.lost), row('double counted', c.events.doubleCounted));
  for (const [pipeline, t] of Object.entries(c.events.byPipeline).sort(([a], [b]) => a.localeCompare(b))) {
    if (t.lost > 0 || t.doubleCounted > 0) lines.push(row(`  ${pipeline}`, `${t.lost} / ${t.doubleCounted}`, 'lost / double counted'));
  }

  lines.push('', 'alerts');
  lines.push(row('expected', c.alerts.expected), row('raised', c.alerts.raised), row('missing', c.alerts.missing), row('extra', c.alerts.extra));
  lines.push(row('duplicated', c.alerts.duplicated), row('level mismatches', c.alerts.levelMismatches), row('type mismatches', c.alerts.typeMismatches));
  // Hopping pipelines: counted per cooldown group, and each record checked against its group's windows.
  lines.push(row('window not of its group', c.alerts.windowNotMatching), row('not the earliest at close', c.alerts.notEarliest), row('final features differing', c.alerts.finalFeaturesDiffering));
  if (c.alerts.early) {
    const e = c.alerts.early;
    lines.push(row('raised early', e.raised, 'at ingest; the rest at close'));
    lines.push(row('early not matching the rule', e.notMatching), row('early out of range', e.outOfRange), row('closed without final features', e.withoutFinal));
  }
  if (c.alerts.kafka) {
    const k = c.alerts.kafka;
    lines.push(row('Kafka unique ids', k.unique), row('Kafka messages', k.messages));
    lines.push(row('Kafka redelivered messages', k.redelivered, 'at-least-once: not a difference'));
    lines.push(row('alert records not on Kafka', k.missing), row('Kafka ids without a record', k.extra));
  }

  const q = c.sequences;
  lines.push('', 'sequence alerts');
  lines.push(row('expected', q.expected), row('raised', q.raised), row('missing', q.missing), row('extra', q.extra), row('duplicated', q.duplicated));
  lines.push(row('id mismatches', q.idMismatches), row('level or type mismatches', q.levelOrTypeMismatches));
  lines.push(row('without a chain', q.unreadable), row('invalid chains', q.invalidChains));
  lines.push(row('chain not the latest', q.notLatest, 'a later first step arrived after firing: not a difference'));
  lines.push(row('late for sequences', q.late.expected, `reference; ${q.late.stored} late side records naming sequence stored`));
  lines.push(row('  missing', q.late.missing));
  lines.push(row('  extra', q.late.extra));

  for (const [title, s] of [['quarantined', c.quarantine], ['late', c.late]] as const) {
    lines.push('', title);
    lines.push(row('expected', s.expected), row('stored', s.stored), row('missing', s.missing), row('extra', s.extra));
  }

  if (extra.faults && Object.keys(extra.faults).length > 0) {
    lines.push('', 'faults injected');
    for (const [kind, n] of Object.entries(extra.faults)) lines.push(row(kind, n));
  }

  const kinds = (Object.keys(EXAMPLE_TITLES) as DifferenceKind[]).filter((k) => (c.examples[k]?.length ?? 0) > 0);
  if (kinds.length > 0) {
    lines.push('', 'examples');
    for (const kind of kinds) {
      const list = c.examples[kind]!;
      lines.push(`  ${EXAMPLE_TITLES[kind]}: ${totalOf(c, kind)}`);
      for (const e of list) lines.push(`    ${example(e)}`);
    }
  }

  lines.push('', c.ok ? `RESULT: OK (0 differences)` : `RESULT: FAILED (${c.differences} differences)`);
  return lines.join('\n');
}
