/**
 * A declarative pipeline, read as a sentence:
 *
 * ```ts
 * pipeline('payments')
 *   .from(userEvents)
 *   .filter((e) => e.action === 'payment')
 *   .key((e) => e.userId)
 *   .window(tumbling(minutes(5)))
 *   .aggregate({ count: count(), amount: sum((e) => e.amount) });
 * ```
 */
import { PipelineDefinitionError } from '../errors.ts';
import type { EventFamily } from '../schemas/family.ts';
import { HLL_BYTES } from '../windows/hll.ts';
import { count, MAX_DISTINCT_VALUE_BYTES, type Feature, type Slot } from './features.ts';
import { windowSpecProblem, type WindowSpec } from './window.ts';

/** A Kafka topic and the event family of its values. Pipelines that share a topic share its source. */
export interface Source<E extends { eventTime: number }, T extends string = string> {
  topic: T;
  family: EventFamily<E>;
}

export function source<E extends { eventTime: number }, T extends string>(topic: T, family: EventFamily<E>): Source<E, T> {
  return { topic, family };
}

/**
 * A compiled pipeline: everything the ingest path needs, with features flattened to slots. `N` is
 * its name as a literal type, so the built-in names are a union derived from the declarations.
 */
export interface Pipeline<E extends { eventTime: number } = any, N extends string = string> {
  name: N;
  source: Source<E>;
  keep: (event: E) => boolean;
  /** When set, events that `keep` rejects are counted under this feature instead of vanishing. */
  rejectedAs: string | undefined;
  keyOf: (event: E) => string | undefined;
  /** Which windows an event falls in (tumbling or hopping): see lib/pipelines/window.ts. */
  window: WindowSpec;
  /** Every feature a closed window reports, the rejected-count one included. */
  features: Record<string, Feature<E>>;
  /** Slots folded from kept events (the rejected count is folded separately). */
  slots: Slot<E>[];
}

const NAME = /^[a-z][a-z0-9_]{0,31}$/;

/**
 * What a window item's distinct features may take at most: every exact set full of the longest
 * values, and a sketch each. DynamoDB's item limit is 400 KB; the rest of an item (counters, at most
 * MAX_CANDIDATES extremes per min/max slot, one offset mark per source partition) stays far below the
 * remaining 144 KB.
 */
export const DISTINCT_BUDGET_BYTES = 256 * 1024;

/** Checks that a pipeline's distinct features cannot grow its window item past DISTINCT_BUDGET_BYTES. */
function checkDistinctBudget(pipeline: string, slots: Slot<any>[]): void {
  const distinct = slots.filter((s) => s.op === 'set');
  const worst = distinct.reduce((bytes, s) => bytes + (s.exactUpTo ?? 0) * (MAX_DISTINCT_VALUE_BYTES + 1) + HLL_BYTES, 0);
  if (worst > DISTINCT_BUDGET_BYTES) {
    const caps = distinct.map((s) => `${s.name}: exactUpTo ${s.exactUpTo}`).join(', ');
    throw new PipelineDefinitionError(
      `pipeline "${pipeline}": its distinct features could take ${worst} bytes of a window item (${caps}; up to ${MAX_DISTINCT_VALUE_BYTES} bytes a value), over the ${DISTINCT_BUDGET_BYTES}-byte budget that keeps items inside DynamoDB's 400 KB: lower exactUpTo`,
    );
  }
}
const FEATURE = /^[a-zA-Z][a-zA-Z0-9_]{0,63}$/;

/**
 * The filter of a pipeline that has none. Shared, so the ingest planner knows it by identity and
 * counts every event kept without calling it (lib/ingest/plan.ts).
 */
export const KEEP_ALL = (): boolean => true;

class PipelineBuilder<E extends { eventTime: number }, N extends string> {
  private keep: (event: E) => boolean = KEEP_ALL;
  private rejectedAs: string | undefined;
  private keyOf: ((event: E) => string | undefined) | undefined;
  private windowDef: WindowSpec | undefined;

  constructor(
    private readonly name: N,
    private readonly src: Source<E>,
  ) {
    // Its window pks ("due#<key>") would read as due pages (lib/store/tables.ts, duePagePk).
    if (name === 'due') throw new PipelineDefinitionError('pipeline "due": the name is reserved for the due pages of the windows table');
  }

  /** Keeps the events that match; with `rejectedAs`, counts the others as that feature. */
  filter(predicate: (event: E) => boolean, options: { rejectedAs?: string } = {}): this {
    const previous = this.keep;
    this.keep = (e) => previous(e) && predicate(e);
    this.rejectedAs = options.rejectedAs ?? this.rejectedAs;
    return this;
  }

  key(keyOf: (event: E) => string | undefined): this {
    this.keyOf = keyOf;
    return this;
  }

  /** The windows to aggregate in: `tumbling(minutes(5))`, `hopping(minutes(10), { every: minutes(1) })`. */
  window(window: WindowSpec): this {
    const problem = windowSpecProblem(window);
    if (problem !== undefined) throw new PipelineDefinitionError(`pipeline "${this.name}": ${problem}`);
    this.windowDef = window;
    return this;
  }

  aggregate(features: Record<string, Feature<E>>): Pipeline<E, N> {
    if (!this.keyOf) throw new PipelineDefinitionError(`pipeline "${this.name}": call .key() before .aggregate()`);
    if (!this.windowDef) throw new PipelineDefinitionError(`pipeline "${this.name}": call .window() before .aggregate()`);
    const all = { ...features };
    for (const featureName of Object.keys(all)) {
      if (!FEATURE.test(featureName)) throw new PipelineDefinitionError(`pipeline "${this.name}": feature name "${featureName}" must match ${FEATURE}`);
    }
    const slots = Object.entries(all).flatMap(([featureName, feature]) => feature.slots(featureName));
    checkDistinctBudget(this.name, slots);
    if (this.rejectedAs !== undefined) {
      if (!FEATURE.test(this.rejectedAs) || all[this.rejectedAs]) {
        throw new PipelineDefinitionError(`pipeline "${this.name}": rejectedAs "${this.rejectedAs}" must be a new feature name`);
      }
      // Read like any counter; folded only from the events the filter rejects.
      all[this.rejectedAs] = count();
    }
    return {
      name: this.name,
      source: this.src,
      keep: this.keep,
      rejectedAs: this.rejectedAs,
      keyOf: this.keyOf,
      window: this.windowDef,
      features: all,
      slots,
    };
  }
}

/** Starts a pipeline definition. Names are lower-case identifiers: they become storage keys. */
export function pipeline<N extends string>(name: N) {
  if (!NAME.test(name)) throw new PipelineDefinitionError(`pipeline name "${name}" must match ${NAME}`);
  return {
    from<E extends { eventTime: number }>(src: Source<E>): PipelineBuilder<E, N> {
      return new PipelineBuilder(name, src);
    },
  };
}

/**
 * The features of a pipeline that count its events: its plain counts and the rejected count. An
 * event lost or applied twice changes them, which is what verify checks them for.
 */
export function eventCountFeatures(p: Pick<Pipeline, 'features' | 'rejectedAs'>): string[] {
  return Object.entries(p.features)
    .filter(([name, f]) => f.countsEvents === true || name === p.rejectedAs)
    .map(([name]) => name);
}
