/**
 * How each built-in pipeline windows its events and how its default alerting rules group their
 * alerts, restated for the reference (it shares no code with lib/: lib/pipelines/builtin.ts and
 * lib/rules/defaults.ts say the same in the engine's terms; docs/design.md, "Proof", what is modelled).
 *
 * A pipeline whose advance equals its size is tumbling: its stored unit is the window. Otherwise it
 * is hopping: it stores one BUCKET per advance ([start, start + advance), start a multiple of the
 * advance) and is judged on the windows [E - size, E), E a multiple of the advance, that hold at
 * least one on-time event. The reference computes those windows from the events themselves
 * (./sql/windows.ts), not by adding buckets up.
 */
import type { ReferencePipeline } from './types.ts';

export interface ReferenceWindowing {
  /** Window size (ms). */
  sizeMs: number;
  /** How far apart window starts are (ms); equal to sizeMs for a tumbling window. */
  advanceMs: number;
}

/** Each pipeline's windows: payments 5 min, risk 1 h, registrations 10 min every minute, iot 1 min. */
export const PIPELINE_WINDOWS: Readonly<Record<ReferencePipeline, ReferenceWindowing>> = {
  payments: { sizeMs: 300_000, advanceMs: 300_000 },
  risk: { sizeMs: 3_600_000, advanceMs: 3_600_000 },
  registrations: { sizeMs: 600_000, advanceMs: 60_000 },
  iot: { sizeMs: 60_000, advanceMs: 60_000 },
};

/** Each alerting default rule's pipeline. */
export const RULE_PIPELINES: Readonly<Record<string, ReferencePipeline>> = {
  'risk-high': 'risk',
  'risk-medium': 'risk',
  'registrations-suspicious-ip': 'registrations',
  'payments-spree': 'payments',
  'iot-sensor-out-of-range': 'iot',
};

/**
 * Each alerting default rule's cooldown (ms): no default rule sets one, so it is its pipeline's
 * window size. An alert is one per (pipeline, key, rule, group), group = floor(windowStart /
 * cooldown) * cooldown; for a tumbling window that is the window itself.
 */
export const RULE_COOLDOWNS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(RULE_PIPELINES).map(([rule, pipeline]) => [rule, PIPELINE_WINDOWS[pipeline].sizeMs]),
);

/** Whether a pipeline is hopping (its stored units are buckets, not windows). */
export function isHopping(w: ReferenceWindowing): boolean {
  return w.advanceMs !== w.sizeMs;
}
