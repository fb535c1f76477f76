/** Where rules live: the port the closer and the admin tooling speak, and an in-memory adapter. */
import type { PipelineLike } from './expression.ts';
import { validateRule, type Rule, type RuleInput } from './rule.ts';
import { validateSequenceRule, type SequenceRule, type SequenceRuleInput } from '../sequences/rule.ts';

/** Every stored rule, by kind: window rules (a pipeline's) and sequence rules (lib/sequences). */
export interface StoredRules {
  rules: Rule[];
  sequences: SequenceRule[];
}

export interface RuleStore {
  /** Every stored window rule, of every pipeline, enabled or not. */
  list(): Promise<Rule[]>;
  /** Every stored rule of both kinds, in one read. */
  listAll(): Promise<StoredRules>;
  /**
   * Validates and writes a sequence rule (kind 'sequence'), replacing any rule with the same id;
   * `version` and `updatedAt` as for put.
   * @throws RuleValidationError, with nothing written, when the rule is invalid.
   */
  putSequence(rule: SequenceRuleInput | SequenceRule): Promise<SequenceRule>;
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
  private readonly sequences = new Map<string, SequenceRule>();

  constructor(
    private readonly pipelines: readonly PipelineLike[],
    private readonly now: () => number = Date.now,
  ) {}

  async list(): Promise<Rule[]> {
    return [...this.rules.values()].map((r) => ({ ...r }));
  }

  async listAll(): Promise<StoredRules> {
    return { rules: await this.list(), sequences: [...this.sequences.values()].map((r) => structuredClone(r)) };
  }

  /** One id, one rule, whatever its kind (as in the DynamoDB store, where the id is the sort key). */
  private versionOf(id: string): number {
    return this.rules.get(id)?.version ?? this.sequences.get(id)?.version ?? 0;
  }

  async put(input: RuleInput | Rule): Promise<Rule> {
    const rule = validateRule(input, this.pipelines);
    const stored = { ...rule, version: this.versionOf(rule.id) + 1, updatedAt: this.now() };
    this.sequences.delete(rule.id);
    this.rules.set(rule.id, stored);
    return { ...stored };
  }

  async putSequence(input: SequenceRuleInput | SequenceRule): Promise<SequenceRule> {
    const rule = validateSequenceRule(input);
    const stored = { ...rule, version: this.versionOf(rule.id) + 1, updatedAt: this.now() };
    this.rules.delete(rule.id);
    this.sequences.set(rule.id, stored);
    return structuredClone(stored);
  }

  async delete(id: string): Promise<boolean> {
    return this.rules.delete(id) || this.sequences.delete(id);
  }
}
