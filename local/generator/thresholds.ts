/**
 * What the generator reads from the pipeline declarations (lib/pipelines/builtin.ts) and the
 * default rules (lib/rules/defaults.ts) instead of writing it again: window sizes, and the least
 * feature values at which a rule fires. The least values come from the compiled condition itself,
 * by search, so a scenario crosses its rule's threshold whatever the configured values, and the
 * background stays under it. (The verification reference restates all this on purpose,
 * local/verify/reference/reference.ts.)
 */
import type { Pipeline } from '../../lib/pipelines/pipeline.ts';
import { compileCondition } from '../../lib/rules/expression.ts';
import { isAlerting, type Rule } from '../../lib/rules/rule.ts';
import type { Features } from '../../lib/windows/features-of.ts';

/** Largest feature value searched: a rule needing more events than this is no scenario's to cross. */
const SEARCH_LIMIT = 1_000_000_000;

/** A rule the generator must make fire (a scenario) or keep from firing (the background). */
export interface Trigger {
  rule: Rule;
  pipeline: Pipeline;
  /** Least value of each feature asked for that, with the others at theirs, makes the rule fire. */
  least: Readonly<Record<string, number>>;
}

/** Least n in [0, SEARCH_LIMIT] with holds(n), for a condition monotone in n; undefined if none. */
function leastWhere(holds: (n: number) => boolean): number | undefined {
  if (holds(0)) return 0;
  let hi = 1;
  while (!holds(hi)) {
    if (hi >= SEARCH_LIMIT) return undefined;
    hi = Math.min(SEARCH_LIMIT, hi * 2);
  }
  let lo = Math.floor(hi / 2);
  // holds(hi), not holds(lo)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (holds(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Reads rules and windows for the generator, with errors that name the rule and the scenario. */
export class Thresholds {
  private readonly triggers = new Map<string, Trigger>();

  constructor(
    private readonly pipelines: readonly Pipeline[],
    private readonly rules: readonly Rule[],
  ) {}

  /** The pipeline called `name`. @throws RangeError when there is none. */
  pipeline(name: string): Pipeline {
    const p = this.pipelines.find((x) => x.name === name);
    if (!p) throw new RangeError(`the generator needs pipeline "${name}", which is not among the pipelines (${this.pipelines.map((x) => x.name).join(', ')})`);
    return p;
  }

  /** Whether rule `ruleId` is among the rules, enabled: a kind for a rule that not every run has asks this in `appliesTo`. */
  hasRule(ruleId: string): boolean {
    return this.rules.some((r) => r.id === ruleId && r.enabled);
  }

  /** Window size of pipeline `name` (ms). */
  windowMs(name: string): number {
    return this.pipeline(name).window.sizeMs;
  }

  /**
   * The cooldown of rule `ruleId` (ms): its alerts are one per group of windows starting in the
   * same [k * cooldown, (k + 1) * cooldown). A rule's own `cooldown` when it sets one in ms, else
   * its pipeline's window size (for a tumbling window: one alert per window).
   */
  cooldownMs(ruleId: string): number {
    const rule = this.rules.find((r) => r.id === ruleId);
    if (!rule) throw new RangeError(`the generator needs rule "${ruleId}", which is not among the rules`);
    const own = (rule as { cooldown?: unknown }).cooldown;
    return typeof own === 'number' && Number.isSafeInteger(own) && own > 0 ? own : this.windowMs(rule.pipeline);
  }

  /** The longest window of any pipeline reading `topic` (ms): a late record must miss them all. */
  longestWindowMs(topic: string): number {
    const sizes = this.pipelines.filter((p) => p.source.topic === topic).map((p) => p.window.sizeMs);
    return sizes.length ? Math.max(...sizes) : 0;
  }

  /**
   * The least values of `features` at which rule `ruleId` fires, each searched with the others
   * held high, then checked together; features of the window not named are absent (no value).
   *
   * @throws RangeError when the rule is missing, disabled, raises no alert, or no values of
   *   `features` make it fire (its condition needs a feature the caller does not drive).
   */
  trigger(ruleId: string, features: readonly string[], usedBy: string): Trigger {
    const key = `${ruleId}|${features.join(',')}`;
    let found = this.triggers.get(key);
    if (!found) this.triggers.set(key, (found = this.search(ruleId, features, usedBy)));
    return found;
  }

  private search(ruleId: string, features: readonly string[], usedBy: string): Trigger {
    const rule = this.rules.find((r) => r.id === ruleId);
    if (!rule) throw new RangeError(`${usedBy} needs rule "${ruleId}", which is not among the rules`);
    if (!rule.enabled || !isAlerting(rule)) throw new RangeError(`${usedBy} needs rule "${ruleId}" enabled and raising an alert`);
    const pipeline = this.pipeline(rule.pipeline);
    const condition = compileCondition(rule.condition);
    const at = (values: Record<string, number>): boolean => condition.test(values as Features);
    const high = Object.fromEntries(features.map((f) => [f, SEARCH_LIMIT]));
    const least: Record<string, number> = {};
    for (const f of features) {
      const n = leastWhere((v) => at({ ...high, [f]: v }));
      if (n === undefined) throw new RangeError(`${usedBy}: no value of ${f} makes rule "${ruleId}" (${rule.condition}) fire`);
      least[f] = n;
    }
    if (!at(least)) {
      throw new RangeError(`${usedBy}: ${features.map((f) => `${f} = ${least[f]}`).join(', ')} does not make rule "${ruleId}" (${rule.condition}) fire; it needs features the generator does not drive`);
    }
    return { rule, pipeline, least };
  }
}
