/** The rules streamguard ships with (docs/design.md, "The pipelines"), and seeding them into a store. */
import type { Rule } from './rule.ts';
import type { RuleStore } from './rule-store.ts';
import { defaultSequenceRules } from '../sequences/defaults.ts';
import type { SequenceRule } from '../sequences/rule.ts';

const builtin = (rule: Omit<Rule, 'enabled' | 'version' | 'updatedAt'>): Rule => ({ ...rule, enabled: true, version: 0, updatedAt: 0 });

/**
 * The default rules. Risk rules form the source system's CASE: devices and cities both changed
 * is HIGH, else more than 5 logins is MEDIUM, else LOW (which does not alert).
 */
export const defaultRules: readonly Rule[] = Object.freeze([
  builtin({
    id: 'risk-high',
    pipeline: 'risk',
    condition: 'devices > 1 AND cities > 1',
    level: 'HIGH',
    emitsAlert: true,
    alertType: 'account_risk',
    priority: 10,
    description: 'More than one device and more than one city for a user within the hour',
  }),
  builtin({
    id: 'risk-medium',
    pipeline: 'risk',
    condition: 'logins > 5',
    level: 'MEDIUM',
    emitsAlert: true,
    alertType: 'account_risk',
    priority: 20,
    description: 'More than 5 logins for a user within the hour',
  }),
  builtin({
    id: 'risk-low',
    pipeline: 'risk',
    condition: 'true',
    level: 'LOW',
    emitsAlert: false,
    priority: 1000,
    description: 'Every other window is low risk',
  }),
  builtin({
    id: 'registrations-suspicious-ip',
    pipeline: 'registrations',
    condition: 'registrations > 20',
    emitsAlert: true,
    alertType: 'suspicious_ip',
    priority: 10,
    description: 'More than 20 sign-ups from one IP within 10 minutes',
  }),
  builtin({
    id: 'payments-spree',
    pipeline: 'payments',
    condition: 'count > 10',
    emitsAlert: true,
    alertType: 'payment_spree',
    priority: 10,
    description: 'More than 10 payments by a user within 5 minutes',
  }),
  builtin({
    id: 'iot-sensor-out-of-range',
    pipeline: 'iot',
    condition: 'rejected > 3',
    emitsAlert: true,
    alertType: 'sensor_out_of_range',
    priority: 10,
    description: 'More than 3 physically impossible readings from a device within a minute',
  }),
]);

/**
 * The pipelines whose every closed window gets a result record: those whose default rules assign a
 * level (risk's verdict), so a new pipeline with levelled rules gets results with no other change.
 */
export function resultPipelinesOf(rules: readonly Rule[] = defaultRules): ReadonlySet<string> {
  return new Set(rules.filter((r) => r.level !== undefined).map((r) => r.pipeline));
}

export interface SeedResult {
  /** Pipelines whose defaults were written. */
  seeded: string[];
  /** Pipelines left alone because the store already holds rules for them. */
  skipped: string[];
}

/**
 * Writes the default rules of every pipeline that has no stored rule yet, so operators can edit
 * them in place. Never overwrites: a pipeline with any stored rule (even a disabled one) is skipped.
 */
export async function seedDefaults(store: RuleStore, defaults: readonly Rule[] = defaultRules, sequenceDefaults: readonly SequenceRule[] = defaultSequenceRules): Promise<SeedResult> {
  const all = await store.listAll();
  const stored = new Set(all.rules.map((r) => r.pipeline));
  const result: SeedResult = { seeded: [], skipped: [] };
  // Map.groupBy is Node 21+.
  const byPipeline = new Map<string, Rule[]>();
  for (const rule of defaults) byPipeline.set(rule.pipeline, [...(byPipeline.get(rule.pipeline) ?? []), rule]);
  for (const [pipeline, rules] of byPipeline) {
    if (stored.has(pipeline)) {
      result.skipped.push(pipeline);
      continue;
    }
    for (const rule of rules) await store.put(rule);
    result.seeded.push(pipeline);
  }
  // Sequence rules are one group ("sequence"): any stored one, even disabled, keeps the defaults out.
  if (sequenceDefaults.length > 0) {
    if (all.sequences.length > 0) result.skipped.push('sequence');
    else {
      for (const rule of sequenceDefaults) await store.putSequence(rule);
      result.seeded.push('sequence');
    }
  }
  return result;
}
