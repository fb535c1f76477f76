/**
 * What verify's early alert checks take from the system (local/verify/compare.ts, EarlyChecks):
 * the rules' conditions and each feature's declared direction and empty value. The reference stays
 * independent: these only say what to check the stored alerts against, the final features checked
 * against are the reference's.
 */
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { magnitudeOf } from '../../lib/pipelines/features.ts';
import type { Pipeline } from '../../lib/pipelines/pipeline.ts';
import { defaultRules } from '../../lib/rules/defaults.ts';
import { compileCondition } from '../../lib/rules/expression.ts';
import type { Rule } from '../../lib/rules/rule.ts';
import { featuresOf, type Features } from '../../lib/windows/features-of.ts';
import type { EarlyChecks } from './compare.ts';

/** Checks for the rules verify runs with (the defaults) over the built-in pipelines. */
export function earlyChecks(rules: readonly Rule[] = defaultRules, pipelines: readonly Pipeline[] = builtinPipelines): EarlyChecks {
  const conditions = new Map(rules.map((r) => [r.id, compileCondition(r.condition)]));
  const features: Record<string, Record<string, { direction: 'up' | 'down'; empty: number | null }>> = {};
  for (const pipeline of pipelines) {
    const empty = featuresOf(pipeline, {});
    const own: Record<string, { direction: 'up' | 'down'; empty: number | null }> = {};
    for (const [name, feature] of Object.entries(pipeline.features)) {
      if (feature.direction) own[name] = { direction: feature.direction, empty: magnitudeOf(empty[name]) };
    }
    features[pipeline.name] = own;
  }
  return {
    // An unknown rule cannot be satisfied: its alert is reported as not matching.
    satisfies: (ruleId, f) => conditions.get(ruleId)?.test(f as Features) ?? false,
    features,
  };
}
