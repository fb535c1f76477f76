/** The generator's options, their defaults and their checks. */
import { DEFAULT_WATERMARK_DELAY_MS } from '../../lib/config/deployment.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import type { Pipeline } from '../../lib/pipelines/pipeline.ts';
import { IOT_TELEMETRY, SOURCE_TOPICS, USER_EVENTS, USER_REGISTRATIONS } from '../../lib/pipelines/topics.ts';
import { defaultRules } from '../../lib/rules/defaults.ts';
import type { Rule } from '../../lib/rules/rule.ts';
import type { Topic } from './types.ts';

export interface GenerateOptions {
  /** Total records to generate, malformed and late ones included. */
  events: number;
  seed: number;
  /** Epoch ms of the first event time (default 2026-11-23T09:00:00Z). */
  start?: number;
  /** Event-time pace: records per second of event time (default 5, so 50,000 records span ~2.8 h). */
  eventsPerSecondOfEventTime?: number;
  /** Relative share of each topic in background traffic (default 0.5 / 0.2 / 0.3). */
  topicShare?: Partial<Record<Topic, number>>;
  /** Share of malformed records (default 0.005). */
  malformedRate?: number;
  /** Include 100 KB+ values among malformed records (default true). */
  hugeValues?: boolean;
  /** Length of the oversized field in a huge value (default 120,000 characters). */
  hugeValueChars?: number;
  /** Share of late records (default 0.002). */
  lateRate?: number;
  /** How far behind the stream a late record's event time lies: [min, max] ms (default 30-90 min). */
  lateByMs?: readonly [number, number];
  /** Watermark delay the late records are designed to miss (default 10 min, as in docs/design.md). */
  watermarkDelayMs?: number;
  /** Largest out-of-order lag of an on-time record behind the stream (default 60 s). */
  maxJitterMs?: number;
  /** Share of background records produced with a null key (default 0.02). */
  nullKeyRate?: number;
  /** Scenarios injected per kind (default 0 below 2,000 records, else max(1, round(events / 10,000))). */
  scenariosPerKind?: number;
  /**
   * The pipelines whose windows the scenarios fill and the background respects (default the
   * built-in ones, lib/pipelines/builtin.ts). Each scenario's pipeline must be among them.
   */
  pipelines?: readonly Pipeline[];
  /**
   * The rules whose thresholds the scenarios cross and the background stays under (default
   * lib/rules/defaults.ts). Each scenario's rule (by id) must be among them, enabled.
   */
  rules?: readonly Rule[];
}

/** Option values used when an option is not given. */
export const GENERATOR_DEFAULTS = {
  start: Date.UTC(2026, 10, 23, 9, 0, 0),
  eventsPerSecondOfEventTime: 5,
  topicShare: { [USER_EVENTS]: 0.5, [USER_REGISTRATIONS]: 0.2, [IOT_TELEMETRY]: 0.3 } as Record<Topic, number>,
  malformedRate: 0.005,
  hugeValues: true,
  hugeValueChars: 120_000,
  lateRate: 0.002,
  lateByMs: [30 * 60_000, 90 * 60_000] as readonly [number, number],
  watermarkDelayMs: DEFAULT_WATERMARK_DELAY_MS,
  maxJitterMs: 60_000,
  nullKeyRate: 0.02,
} as const;

/** Scenarios per kind when `scenariosPerKind` is not given. */
export function defaultScenariosPerKind(events: number): number {
  return events >= 2000 ? Math.max(1, Math.round(events / 10_000)) : 0;
}

/** Options with every default filled in. */
export interface Resolved extends Required<Omit<GenerateOptions, 'topicShare' | 'scenariosPerKind'>> {
  topicShare: Record<Topic, number>;
  scenariosPerKind: number;
}

/**
 * Fills in defaults and checks every option.
 *
 * @throws RangeError naming the first option out of range.
 */
export function resolveOptions(options: GenerateOptions): Resolved {
  const o: Resolved = {
    events: options.events,
    seed: options.seed,
    ...GENERATOR_DEFAULTS,
    pipelines: builtinPipelines,
    rules: defaultRules,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    topicShare: { ...GENERATOR_DEFAULTS.topicShare, ...options.topicShare },
    scenariosPerKind: options.scenariosPerKind ?? defaultScenariosPerKind(options.events),
  } as Resolved;
  const positiveInt = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  const rate = (name: string, v: number) => {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be within [0, 1], got ${v}`);
  };
  positiveInt('events', o.events, 0);
  positiveInt('scenariosPerKind', o.scenariosPerKind, 0);
  positiveInt('start', o.start, 0);
  if (!(o.eventsPerSecondOfEventTime > 0)) throw new RangeError('eventsPerSecondOfEventTime must be > 0');
  rate('malformedRate', o.malformedRate);
  rate('lateRate', o.lateRate);
  rate('nullKeyRate', o.nullKeyRate);
  if (!(o.maxJitterMs >= 0)) throw new RangeError('maxJitterMs must be >= 0');
  if (!(o.lateByMs[0] > 0 && o.lateByMs[1] >= o.lateByMs[0])) throw new RangeError('lateByMs must be [min, max] with 0 < min <= max');
  if (SOURCE_TOPICS.some((t) => !(o.topicShare[t] >= 0)) || SOURCE_TOPICS.every((t) => o.topicShare[t] === 0)) {
    throw new RangeError('topicShare needs non-negative shares, not all zero');
  }
  return o;
}
