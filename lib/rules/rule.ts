/**
 * A rule as data: a condition over one pipeline's window features, and what a match means.
 *
 * How the closer reads a pipeline's rules (see evaluate.ts):
 * - the enabled rules of the pipeline are evaluated in `priority` order (lower first; ties by id);
 * - the window's `level` is the level of the first matching rule that sets one — for the risk
 *   pipeline that is the CASE of the source system (HIGH, then MEDIUM, then `true` -> LOW);
 * - every matching rule with `emitsAlert` yields an alert of its `alertType`, whatever its order.
 *
 * `version` and `updatedAt` belong to the store: it sets them on every write, and compiled
 * conditions are cached by id and version.
 */
import * as z from '../zod.ts';
import { StreamguardError } from '../errors.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';
import { compileCondition, EXPRESSION_LIMITS, ExpressionError, featureSchemaOf, type PipelineLike } from './expression.ts';

export const LEVELS = ['HIGH', 'MEDIUM', 'LOW', 'INFO'] as const;
export type Level = (typeof LEVELS)[number];

export interface Rule {
  /** Slug, unique across pipelines; alert ids are derived from it, so it should never be reused. */
  id: string;
  pipeline: string;
  condition: string;
  /** The window's level when this is the first matching rule that sets one. */
  level?: Level;
  /** Whether a match yields an alert (requires `alertType`). */
  emitsAlert: boolean;
  /** What the alert says happened, e.g. `payment_spree`. */
  alertType?: string;
  /** Lower is evaluated first. */
  priority: number;
  enabled: boolean;
  description?: string;
  /**
   * Alert grouping, in ms: at most one alert per (key, rule) and aligned span of this length,
   * named by the span's start (lib/closer/alert-group.ts). A positive multiple of the pipeline's
   * window advance; absent, the window size (for tumbling windows: one alert per window, as always).
   */
  cooldown?: number;
  /** Incremented by the store on every write; 0 for the built-in defaults. */
  version: number;
  /** Epoch ms of the last write; 0 for the built-in defaults. */
  updatedAt: number;
}

/** A rule whose match yields an alert: the type guarantees the alert has a type. */
export type AlertingRule = Rule & { emitsAlert: true; alertType: string };

/** Whether a rule's match yields an alert. */
export function isAlerting(rule: Rule): rule is AlertingRule {
  return rule.emitsAlert && rule.alertType !== undefined;
}

const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const ALERT_TYPE = /^[a-z][a-z0-9_]{0,63}$/;
const PRIORITY_BOUND = 1_000_000;
const COOLDOWN_BOUND_MS = 366 * 86_400_000;

const required = (what: string) => ({ error: (issue: { input: unknown }) => (issue.input === undefined ? 'required' : `must be ${what}`) });

/** The shape of a rule, before its pipeline and condition are checked against the pipelines. */
export const ruleSchema = z
  .pipe(
    z.strictObject({
      id: z.string(required('a string')).check(z.regex(SLUG, 'must be a slug: 1-64 of a-z 0-9 _ -, starting with a letter or digit')),
      pipeline: z.string(required('a string')).check(z.minLength(1, 'must not be empty')),
      condition: z.string(required('a string')).check(z.maxLength(EXPRESSION_LIMITS.maxLength, `must be at most ${EXPRESSION_LIMITS.maxLength} characters`)),
      level: z.optional(z.enum(LEVELS, { error: `must be one of ${LEVELS.join(', ')}` })),
      emitsAlert: z.optional(z.boolean({ error: 'must be true or false' })),
      alertType: z.optional(z.string({ error: 'must be a string' }).check(z.regex(ALERT_TYPE, 'must be 1-64 of a-z 0-9 _, starting with a letter'))),
      priority: z._default(
        z.int({ error: 'must be an integer' }).check(z.minimum(-PRIORITY_BOUND, `must be at least -${PRIORITY_BOUND}`), z.maximum(PRIORITY_BOUND, `must be at most ${PRIORITY_BOUND}`)),
        100,
      ),
      enabled: z._default(z.boolean({ error: 'must be true or false' }), true),
      description: z.optional(z.string({ error: 'must be a string' }).check(z.maxLength(500, 'must be at most 500 characters'))),
      cooldown: z.optional(
        z
          .int({ error: 'must be a whole number of milliseconds' })
          .check(z.positive('must be a positive number of milliseconds'), z.maximum(COOLDOWN_BOUND_MS, `must be at most ${COOLDOWN_BOUND_MS} ms (366 days)`)),
      ),
      version: z._default(z.int({ error: 'must be an integer' }).check(z.minimum(0, 'must not be negative')), 0),
      updatedAt: z._default(z.int({ error: 'must be epoch milliseconds' }).check(z.minimum(0, 'must not be negative')), 0),
    }),
    z.transform((r) => ({ ...r, emitsAlert: r.emitsAlert ?? r.alertType !== undefined })),
  )
  .check(
    z.superRefine((r, ctx) => {
      if (r.emitsAlert && r.alertType === undefined) {
        ctx.addIssue({ code: 'custom', path: ['alertType'], message: 'required when emitsAlert is true' });
      }
      if (!r.emitsAlert && r.level === undefined) {
        ctx.addIssue({ code: 'custom', path: ['level'], message: 'a rule must set a level, emit an alert, or both' });
      }
    }),
  );

/** What callers write: defaults fill `priority` (100), `enabled` (true), `emitsAlert` (alertType given). */
export type RuleInput = z.input<typeof ruleSchema>;

export interface RuleProblem {
  /** The field at fault ("" for the rule as a whole). */
  field: string;
  message: string;
}

/** A rule that cannot be stored or used; the message names every problem found. */
export class RuleValidationError extends StreamguardError {
  constructor(
    readonly ruleId: string | undefined,
    readonly problems: RuleProblem[],
  ) {
    const what = ruleId === undefined ? 'invalid rule' : `invalid rule "${ruleId}"`;
    super(`${what}: ${problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; ')}`);
  }
}

function idOf(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || !Object.hasOwn(input, 'id')) return undefined;
  const id = (input as { id: unknown }).id;
  return typeof id === 'string' && id.length <= 64 ? id : undefined;
}

/**
 * Checks a rule against the pipelines it may target: its shape, that its pipeline exists, and
 * that its condition parses and reads only that pipeline's features.
 * @returns the rule with defaults filled in.
 * @throws RuleValidationError listing each problem (field and message, with the position for
 * condition errors).
 */
export function validateRule(input: unknown, pipelines: readonly PipelineLike[]): Rule {
  const id = idOf(input);
  const parsed = ruleSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.'), message: i.message }));
    // Condition problems are worth reporting alongside shape problems: check it if the rest allows.
    if (typeof input === 'object' && input !== null && !problems.some((p) => p.field === 'condition' || p.field === 'pipeline')) {
      const raw = input as { pipeline?: unknown; condition?: unknown };
      if (typeof raw.pipeline === 'string' && typeof raw.condition === 'string') {
        problems.push(...targetProblems(raw.pipeline, raw.condition, pipelines, undefined));
      }
    }
    throw new RuleValidationError(id, problems);
  }
  const r = parsed.data;
  const problems = targetProblems(r.pipeline, r.condition, pipelines, r.cooldown);
  if (problems.length) throw new RuleValidationError(r.id, problems);
  const rule: Rule = {
    id: r.id,
    pipeline: r.pipeline,
    condition: r.condition,
    emitsAlert: r.emitsAlert,
    priority: r.priority,
    enabled: r.enabled,
    version: r.version,
    updatedAt: r.updatedAt,
  };
  // Optional fields stay absent rather than undefined, so stored and listed rules compare equal.
  if (r.level !== undefined) rule.level = r.level;
  if (r.alertType !== undefined) rule.alertType = r.alertType;
  if (r.description !== undefined) rule.description = r.description;
  if (r.cooldown !== undefined) rule.cooldown = r.cooldown;
  return rule;
}

function targetProblems(pipelineName: string, condition: string, pipelines: readonly PipelineLike[], cooldown: number | undefined): RuleProblem[] {
  const pipeline = pipelines.find((p) => p.name === pipelineName);
  if (!pipeline) {
    return [{ field: 'pipeline', message: `unknown pipeline "${pipelineName}" (known: ${pipelines.map((p) => p.name).join(', ')})` }];
  }
  const problems: RuleProblem[] = [];
  // Groups must be whole numbers of window starts, or two runs could group one window differently.
  const advance = (pipeline as Partial<Pick<Pipeline, 'window'>>).window?.advanceMs;
  if (cooldown !== undefined && advance !== undefined && cooldown % advance !== 0) {
    problems.push({ field: 'cooldown', message: `must be a positive multiple of pipeline "${pipelineName}"'s window advance (${advance} ms), got ${cooldown} ms` });
  }
  try {
    compileCondition(condition, featureSchemaOf(pipeline));
  } catch (err) {
    if (err instanceof ExpressionError) problems.push({ field: 'condition', message: err.message });
    else throw err;
  }
  return problems;
}
