/**
 * The scenario spec: what a fraud scenario kind provides to the generator. A kind is one module in
 * this folder, registered in SCENARIOS (./index.ts). It names the default rule it must make fire
 * (by id, lib/rules/defaults.ts) and plans one instance at a time: a key of its own, a window of
 * its rule's pipeline and the events that cross the rule's threshold inside it, the threshold and
 * the window read from the rules and the declarations (../thresholds.ts), never restated.
 *
 * A sequence rule's kinds (issue 15) name their rule the same way; their scenario reports pipeline
 * 'sequence' and the rule, and a near miss (`expectAlert: false`) is a pattern the rule must NOT
 * fire for. A kind whose events need more event time than a stream has says so with `fits`.
 *
 * A plan draws only from `ctx.rng` (through the world and the stream), so the same seed gives the
 * same scenarios. Its events must be well formed and inside the window it reports (a window of its
 * pipeline on which its rule fires); the generator places them on time in the stream.
 */
import type { Random } from '../random.ts';
import type { Stream } from '../stream.ts';
import type { Thresholds } from '../thresholds.ts';
import type { InjectedScenario, PlannedEvent } from '../types.ts';
import type { World } from '../world.ts';

/** What a scenario plans with. */
export interface ScenarioContext {
  rng: Random;
  world: World;
  stream: Stream;
  thresholds: Thresholds;
}

/** One planned instance of a scenario: what is reported, and the events to inject. */
export interface ScenarioPlan<K extends string = string> {
  scenario: Omit<InjectedScenario, 'events' | 'kind'> & { kind: K };
  events: PlannedEvent[];
}

export interface ScenarioSpec<K extends string = string> {
  /** The kind's name, as reported in `InjectedScenario.kind`. */
  kind: K;
  /** Id of the rule the scenario must make fire. */
  rule: string;
  /**
   * Whether the kind has a point with these pipelines and rules (default: always). A kind that
   * does not is not planned at all, so it draws nothing from the seed: e.g. a burst only hopping
   * windows catch is left out while its pipeline is tumbling.
   */
  appliesTo?(thresholds: Thresholds): boolean;
  /** Plans the n-th instance of this kind (n from 0). */
  plan(ctx: ScenarioContext, n: number): ScenarioPlan<K>;
  /**
   * Whether an instance fits in this stream (absent: always). A kind whose events must lie further
   * apart than the stream is long is left out of it. Decided from the stream alone, drawing nothing,
   * so leaving a kind out does not change what the others draw.
   */
  fits?(ctx: ScenarioContext): boolean;
}

/** Declares a scenario kind, keeping its name as a literal type. */
export function defineScenario<K extends string>(spec: ScenarioSpec<K>): ScenarioSpec<K> {
  return spec;
}
