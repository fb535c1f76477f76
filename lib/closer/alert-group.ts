/**
 * One alert per burst (docs/design.md, "Alert grouping"): overlapping hopping windows that match
 * one rule are grouped by aligned cooldown spans, and a group has at most one alert record.
 *
 * group(window) = floor(window.start / C) * C, C = the rule's `cooldown` or else the window size,
 * and the record's id is alertId(pipeline, key, groupStart, rule). Aligned, not sliding: a window's
 * group depends on the window alone, never on which window fired first, how batches were cut, or
 * which closer ran first, so redelivery, re-cut batches, racing closers and early firing all name
 * the same record. The price: a burst whose matching windows straddle a group boundary gets two.
 * For tumbling windows with no cooldown, groupStart = windowStart: ids are those of before groups.
 */
import type { Pipeline } from '../pipelines/pipeline.ts';
import type { Rule } from '../rules/rule.ts';
import { alertId } from './alert-id.ts';

/** The start of the aligned cooldown span that holds a window start (also before the epoch). */
export function groupStartOf(rule: Pick<Rule, 'cooldown'>, pipeline: Pick<Pipeline, 'window'>, windowStart: number): number {
  const c = rule.cooldown ?? pipeline.window.sizeMs;
  return windowStart - (((windowStart % c) + c) % c);
}

/** The id of the one alert record of a window's group for a rule. */
export function groupAlertId(pipeline: Pick<Pipeline, 'name' | 'window'>, key: string, windowStart: number, rule: Pick<Rule, 'id' | 'cooldown'>): string {
  return alertId(pipeline.name, key, groupStartOf(rule, pipeline, windowStart), rule.id);
}
