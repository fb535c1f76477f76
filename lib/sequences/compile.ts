/**
 * Sequence rules compiled for the matcher, cached by id and version: a rule list refreshed every
 * 30 s recompiles only the rules that changed.
 */
import { compileStepCondition, type CompiledStepCondition, type HistoryUse } from './condition.ts';
import { sequenceTopics, type SequenceRule, type SequenceTopic } from './rule.ts';

export interface CompiledSequenceRule {
  readonly rule: SequenceRule;
  readonly steps: readonly CompiledStepCondition[];
  /** Every history function its steps call. */
  readonly history: readonly HistoryUse[];
}

/** The rules that share one state item: a topic and a key field, with what their history needs. */
export interface SequenceGroup {
  topic: string;
  keyField: string;
  rules: CompiledSequenceRule[];
  /** Per history field, the longest D any of the group's rules looks back. */
  historyMs: Map<string, number>;
  /** The longest `within` of the group's rules. */
  maxWithinMs: number;
}

/** At most this many compiled rules are kept (a few per operator edit). */
const MAX_CACHED = 256;

export class SequenceCompiler {
  private readonly cache = new Map<string, CompiledSequenceRule>();

  constructor(private readonly topics: readonly SequenceTopic[] = sequenceTopics) {}

  /**
   * A rule compiled (cached by id and version).
   * @throws ConditionError if a step no longer compiles (stored rules are validated, so a bug).
   */
  compile(rule: SequenceRule): CompiledSequenceRule {
    const id = `${rule.id}@${rule.version}#${rule.updatedAt}`;
    let compiled = this.cache.get(id);
    if (compiled === undefined) {
      const fields = this.topics.find((t) => t.topic === rule.topic)?.fields ?? [];
      const steps = rule.steps.map((s) => compileStepCondition(s.condition, fields));
      compiled = { rule, steps, history: steps.flatMap((s) => s.history) };
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(id, compiled);
    }
    return compiled;
  }

  /** The enabled rules of one topic, by the key field whose state they share. */
  groups(rules: readonly SequenceRule[], topic: string): SequenceGroup[] {
    const byKey = new Map<string, SequenceGroup>();
    for (const rule of rules) {
      if (!rule.enabled || rule.topic !== topic) continue;
      let group = byKey.get(rule.key);
      if (!group) {
        group = { topic, keyField: rule.key, rules: [], historyMs: new Map(), maxWithinMs: 0 };
        byKey.set(rule.key, group);
      }
      const compiled = this.compile(rule);
      group.rules.push(compiled);
      group.maxWithinMs = Math.max(group.maxWithinMs, rule.withinMs);
      for (const use of compiled.history) group.historyMs.set(use.field, Math.max(group.historyMs.get(use.field) ?? 0, use.withinMs));
    }
    return [...byKey.values()];
  }
}
