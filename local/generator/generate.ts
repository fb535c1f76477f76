/**
 * A deterministic event generator for the built-in pipelines (docs/design.md, "The pipelines").
 *
 * It produces realistic background traffic that stays clean with respect to the default rules,
 * injects fraud scenarios whose windows and expected outcomes it reports, and mixes in
 * out-of-order, late and malformed records. Everything derives from `seed`: the same options give
 * byte-identical records. The result is in production order, ready for {@link produceRecords}.
 *
 * The parts, one job each: options.ts (options and defaults), thresholds.ts (window sizes and rule
 * thresholds, read from lib/pipelines/builtin.ts and lib/rules/defaults.ts), world.ts (the seeded
 * population), stream.ts (time line and record slots), background.ts, malformed.ts, and one module
 * per scenario kind in scenarios/ behind the spec in scenarios/spec.ts.
 */
import { HUMIDITY_RANGE, TEMPERATURE_RANGE } from '../../lib/pipelines/builtin.ts';
import { Background } from './background.ts';
import { Malformed } from './malformed.ts';
import { resolveOptions, type GenerateOptions, type Resolved } from './options.ts';
import { Random } from './random.ts';
import { scenariosFor, type ScenarioContext, type ScenarioPlan } from './scenarios/index.ts';
import { Stream } from './stream.ts';
import { Thresholds } from './thresholds.ts';
import type { GeneratedRecord, InjectedScenario } from './types.ts';
import { World } from './world.ts';

export type { GeneratedRecord, InjectedScenario, ScenarioKind, Topic } from './types.ts';
export type { PipelineName } from '../../lib/pipelines/builtin.ts';
export { SOURCE_TOPICS as TOPICS } from '../../lib/pipelines/topics.ts';
export { GENERATOR_DEFAULTS, defaultScenariosPerKind, type GenerateOptions } from './options.ts';
export { windowStartOf } from './stream.ts';
export { scenarioAlerted } from './types.ts';

/** The scenario kinds `generate` plans with these options' pipelines and rules (default the built-in ones). */
export function scenarioKinds(options: Pick<GenerateOptions, 'pipelines' | 'rules'> = {}): string[] {
  const o = resolveOptions({ events: 1, seed: 1, ...options });
  return scenariosFor(new Thresholds(o.pipelines, o.rules)).map((s) => s.kind);
}

export interface GenerateResult {
  records: GeneratedRecord[];
  scenarios: InjectedScenario[];
}

/**
 * Generates `options.events` Kafka records for the source topics, in production order, plus the
 * fraud scenarios injected among them.
 *
 * Record `i` is "produced" at stream time `start + i / eventsPerSecondOfEventTime`; on-time records
 * carry an event time up to `maxJitterMs` behind that, late ones `lateByMs` behind and always in a
 * window that a `watermarkDelayMs` watermark has already closed. Background traffic never exceeds a
 * rule threshold; each scenario exceeds exactly its own, with all of its records inside its window,
 * on time and well formed. Windows and thresholds are those of `options.pipelines` and
 * `options.rules` (by default the built-in ones).
 *
 * Pure and deterministic: the same options give byte-identical output.
 *
 * @throws RangeError on invalid options, when the scenarios do not fit in `events`, or when a
 *   rule the generator relies on is missing or cannot be crossed (thresholds.ts).
 */
export function generate(options: GenerateOptions): GenerateResult {
  const o = resolveOptions(options);
  const rng = new Random(o.seed);
  const thresholds = new Thresholds(o.pipelines, o.rules);
  const stream = new Stream(rng, o, thresholds);
  const world = new World(rng, o.events, { temperature: TEMPERATURE_RANGE, humidity: HUMIDITY_RANGE });
  const scenarios = planScenarios({ rng, world, stream, thresholds }, o);
  const background = new Background(world, stream, o, thresholds);
  const malformed = new Malformed(world, stream, o);

  const n = o.events;
  const late = new Set<number>();
  const bad = new Set<number>();
  stream.pickSlots(late, Math.round(n * o.lateRate), (i) => stream.lateEligible(i));
  stream.pickSlots(bad, Math.round(n * o.malformedRate), () => true, late);

  const records: GeneratedRecord[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const p = stream.plannedAt(i);
    let r: GeneratedRecord;
    if (p) {
      r = { topic: p.topic, key: p.key, value: JSON.stringify(p.body), eventTime: p.eventTime, scenario: p.scenario };
      if (p.partition !== undefined) r.partition = p.partition;
    }
    else if (bad.has(i)) r = malformed.record(i);
    else if (late.has(i)) r = background.late(i) ?? background.onTime(i);
    else r = background.onTime(i);
    r.timestamp = Math.max(stream.arrival(i), r.eventTime ?? -Infinity);
    records[i] = r;
  }
  return { records, scenarios };
}

/** Plans `scenariosPerKind` instances of every kind and places their events in the stream. */
function planScenarios(ctx: ScenarioContext, o: Resolved): InjectedScenario[] {
  const k = o.scenariosPerKind;
  if (k === 0) return [];
  const plans: ScenarioPlan[] = [];
  // The kinds these pipelines and rules apply to, and of those the ones this stream has room for.
  const kinds = scenariosFor(ctx.thresholds).filter((spec) => spec.fits?.(ctx) ?? true);
  for (let n = 0; n < k; n++) for (const spec of kinds) plans.push(spec.plan(ctx, n));
  const total = plans.reduce((s, plan) => s + plan.events.length, 0);
  if (total > o.events / 2) {
    throw new RangeError(`${k} scenarios per kind need ${total} records, more than half of events=${o.events}; lower scenariosPerKind`);
  }
  // Scenarios are listed in event-time order so a reader can follow the stream.
  plans.sort((a, b) => a.scenario.windowStart - b.scenario.windowStart || (a.scenario.kind < b.scenario.kind ? -1 : a.scenario.kind > b.scenario.kind ? 1 : 0));
  return plans.map((plan, index) => {
    for (const e of plan.events) ctx.stream.place({ ...e, scenario: index });
    return { ...plan.scenario, events: plan.events.length } as InjectedScenario;
  });
}
