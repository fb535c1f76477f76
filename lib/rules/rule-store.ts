/** Where rules live: the port the closer and the admin tooling speak, and an in-memory adapter. */
import type { PipelineLike } from './expression.ts';
import { validateRule, type Rule, type RuleInput } from './rule.ts';

export interface RuleStore {
  /** Every stored rule, of every pipeline, enabled or not. */
  list(): Promise<Rule[]>;
  /**
   * Validates and writes a rule, replacing any rule with the same id. The store assigns
   * `version` (previous + 1) and `updatedAt`; values passed for them are ignored.
   * @returns the rule as stored.
   * @throws RuleValidationError, with nothing written, when the rule is invalid.
   */
  put(rule: RuleInput | Rule): Promise<Rule>;
  /** Removes a rule; false if there was none with that id. */
  delete(id: string): Promise<boolean>;
}

/** A RuleStore in memory, for tests and the local runtime. */
export class InMemoryRuleStore implements RuleStore {
  private readonly rules = new Map<string, Rule>();

  constructor(
    private readonly pipelines: readonly PipelineLike[],
    private readonly now: () => number = Date.now,
  ) {}

  async list(): Promise<Rule[]> {
    return [...this.rules.values()].map((r) => ({ ...r }));
  }

  async put(input: RuleInput | Rule): Promise<Rule> {
    const rule = validateRule(input, this.pipelines);
    const stored = { ...rule, version: (this.rules.get(rule.id)?.version ?? 0) + 1, updatedAt: this.now() };
    this.rules.set(rule.id, stored);
    return { ...stored };
  }

  async delete(id: string): Promise<boolean> {
    return this.rules.delete(id);
  }
}
