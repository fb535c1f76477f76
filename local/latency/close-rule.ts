/**
 * The rule a real-time run adds so that at-close latency has alerts to time (docs/design.md,
 * "Latency"): every shipped rule fires early, so without one decided at close the closer's
 * alerts would go unmeasured. It is a demo rule, not a default: a device whose mean temperature
 * over a minute is far above a room's, every reading in range. A mean can fall again as readings
 * arrive, so lib/rules/early.ts decides it at close.
 *
 * Stored rules of a pipeline replace that pipeline's defaults (lib/rules/rule-cache.ts), so the
 * run stores the iot pipeline's default rules along with it.
 */
import { defaultRules } from '../../lib/rules/defaults.ts';
import type { Rule } from '../../lib/rules/rule.ts';
import type { RuleStore } from '../../lib/rules/rule-store.ts';

export const CLOSE_RULE: Rule = Object.freeze({
  id: 'iot-running-hot',
  pipeline: 'iot',
  condition: 'temperatureAvg > 60',
  emitsAlert: true,
  alertType: 'sensor_running_hot',
  priority: 20,
  enabled: true,
  version: 0,
  updatedAt: 0,
  description: "A device's mean temperature above 60 °C over a minute (decided at close: a mean can fall again)",
});

/** The rules of a real-time run: the defaults and CLOSE_RULE. */
export const realTimeRules: readonly Rule[] = Object.freeze([...defaultRules, CLOSE_RULE]);

/** Stores CLOSE_RULE and the defaults of its pipeline, so that the functions' rule cache serves realTimeRules. */
export async function storeCloseRule(store: Pick<RuleStore, 'put'>): Promise<void> {
  for (const rule of realTimeRules.filter((r) => r.pipeline === CLOSE_RULE.pipeline)) await store.put(rule);
}
