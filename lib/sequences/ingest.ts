/**
 * Sequence rules at ingest: the rules in force for one batch, and the batch's on-time events of
 * their topics cut into one unit of work per (key field, key) (lib/sequences/stage.ts applies each).
 */
import type { SequenceEvent } from '../ingest/plan.ts';
import { isTransient, TransientStoreError } from '../store/errors.ts';
import { SequenceCompiler, type SequenceGroup } from './compile.ts';
import type { ConditionEvent } from './condition.ts';
import type { SequenceInput } from './matcher.ts';
import type { SequenceRule } from './rule.ts';
import type { SequenceKeyBatch, SequenceStageDeps } from './stage.ts';

export interface SequenceIngestDeps extends SequenceStageDeps {
  /** The sequence rules in force (the RuleCache: same store and pickup delay as window rules). */
  rules: () => Promise<readonly SequenceRule[]>;
}

/** The normalised event as conditions see it: absent fields left out, so `has(e.x)` means present. */
export function conditionEventOf(event: object): ConditionEvent & { eventTime: number } {
  const out: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(event)) if (typeof value === 'string' || typeof value === 'number') out[name] = value;
  return out as ConditionEvent & { eventTime: number };
}

/** The rules of one batch, by topic. */
export class SequenceBatch {
  readonly topics: ReadonlySet<string>;

  constructor(private readonly groupsByTopic: ReadonlyMap<string, SequenceGroup[]>) {
    this.topics = new Set([...groupsByTopic].filter(([, g]) => g.length > 0).map(([t]) => t));
  }

  /** One unit of work per (group, key) present in the events, inputs in the batch's order. */
  keyBatches(events: readonly SequenceEvent[]): SequenceKeyBatch[] {
    const units = new Map<SequenceGroup, Map<string, SequenceInput[]>>();
    for (const e of events) {
      const groups = this.groupsByTopic.get(e.topic);
      if (!groups) continue;
      const fields = e.event as unknown as Record<string, unknown>;
      let condition: SequenceInput['event'] | undefined;
      for (const group of groups) {
        const key = fields[group.keyField];
        if (typeof key !== 'string' || key === '') continue;
        condition ??= conditionEventOf(e.event);
        let byKey = units.get(group);
        if (!byKey) units.set(group, (byKey = new Map()));
        let inputs = byKey.get(key);
        if (!inputs) byKey.set(key, (inputs = []));
        inputs.push({ event: condition, partition: e.partition, offset: e.offset });
      }
    }
    const out: SequenceKeyBatch[] = [];
    for (const [group, byKey] of units) for (const [key, inputs] of byKey) out.push({ group, key, inputs });
    return out;
  }
}

/** One per container: the compiler's cache survives warm invocations. */
export class SequenceIngest {
  private readonly compiler = new SequenceCompiler();

  constructor(readonly deps: SequenceIngestDeps) {}

  /**
   * The sequence rules for one batch.
   * @throws TransientStoreError when they cannot be read for now (the batch is retried from its start).
   */
  async forBatch(): Promise<SequenceBatch> {
    let rules: readonly SequenceRule[];
    try {
      rules = await this.deps.rules();
    } catch (err) {
      if (err instanceof TransientStoreError || isTransient(err)) throw new TransientStoreError(`sequence rules could not be read yet: ${(err as Error).message}`, { cause: err });
      throw err;
    }
    const topics = new Set(rules.filter((r) => r.enabled).map((r) => r.topic));
    return new SequenceBatch(new Map([...topics].map((t) => [t, this.compiler.groups(rules, t)])));
  }
}
