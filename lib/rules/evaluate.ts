/**
 * Evaluating a pipeline's rules against one closed window. The closer calls this for thousands of
 * windows per run, so conditions are compiled once per rule version and each rule list's per-pipeline
 * order is worked out once per list.
 */
import type { Features } from '../windows/features-of.ts';
import { compileCondition, ExpressionError, type CompiledCondition } from './expression.ts';
import { isAlerting, RuleValidationError, type AlertingRule, type Level, type Rule } from './rule.ts';

export interface Evaluation {
  /** Level of the first matching rule (by priority) that sets one; undefined if none does. */
  level: Level | undefined;
  /** Every matching enabled rule, in evaluation order. */
  matched: Rule[];
  /** The matching rules that emit an alert, in evaluation order. */
  alerts: AlertingRule[];
}

interface Prepared {
  rule: Rule;
  condition: CompiledCondition;
}

const MAX_COMPILED = 10_000;
const compiled = new Map<string, CompiledCondition>();

/** Compiles a rule's condition, reusing the compilation for the same id and version. */
function compiledFor(rule: Rule): CompiledCondition {
  const key = `${rule.id}@${rule.version}`;
  const hit = compiled.get(key);
  // The source check guards against a caller editing a rule without bumping its version.
  if (hit && hit.source === rule.condition) return hit;
  let condition: CompiledCondition;
  try {
    // Rules reaching here were validated against their pipeline; no schema is needed to run them.
    condition = compileCondition(rule.condition);
  } catch (err) {
    if (err instanceof ExpressionError) throw new RuleValidationError(rule.id, [{ field: 'condition', message: err.message }]);
    throw err;
  }
  // Old versions are never asked for again; a crude bound is enough to stop slow growth.
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(key, condition);
  return condition;
}

/** Enabled rules of one pipeline, in evaluation order: priority, then id so ties are stable. */
function prepare(rules: readonly Rule[], pipelineName: string): Prepared[] {
  return rules
    .filter((r) => r.enabled && r.pipeline === pipelineName)
    .sort((a, b) => a.priority - b.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((rule) => ({ rule, condition: compiledFor(rule) }));
}

// Keyed by the list itself: RuleCache hands out one frozen list per refresh, so this is hit for
// every window of a run and forgotten with the list.
const plans = new WeakMap<readonly Rule[], Map<string, Prepared[]>>();

function planFor(rules: readonly Rule[], pipelineName: string): Prepared[] {
  let byPipeline = plans.get(rules);
  if (!byPipeline) {
    byPipeline = new Map();
    // A list that can change under us must not be memoised.
    if (Object.isFrozen(rules)) plans.set(rules, byPipeline);
  }
  let plan = byPipeline.get(pipelineName);
  if (!plan) {
    plan = prepare(rules, pipelineName);
    byPipeline.set(pipelineName, plan);
  }
  return plan;
}

/**
 * Evaluates the enabled rules of `pipelineName` against a window's features, in priority order.
 * The level is that of the first matching rule that sets a level; every matching rule with
 * `emitsAlert` is an alert. Rules of other pipelines and disabled rules are ignored.
 *
 * Pass a frozen list (RuleCache does) to have its ordering and compilation reused across calls.
 * @throws RuleValidationError if a rule's condition does not parse (rules from a store or
 * validateRule always do).
 */
export function evaluateRules(rules: readonly Rule[], pipelineName: string, features: Features): Evaluation {
  const matched: Rule[] = [];
  const alerts: AlertingRule[] = [];
  let level: Level | undefined;
  for (const { rule, condition } of planFor(rules, pipelineName)) {
    if (!condition.test(features)) continue;
    matched.push(rule);
    if (level === undefined && rule.level !== undefined) level = rule.level;
    if (isAlerting(rule)) alerts.push(rule);
  }
  return { level, matched, alerts };
}
