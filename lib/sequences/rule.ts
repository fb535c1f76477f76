/**
 * A sequence rule as data (docs/design.md, "Sequence rules"): on one topic, per value of one key
 * field, steps that must happen in event-time order within a duration ("followed by": other events
 * may come between). Validated with errors that name the field, like window rules.
 */
import * as z from '../zod.ts';
import { LEVELS, RuleValidationError, type Level, type RuleProblem } from '../rules/rule.ts';
import { compileStepCondition, ConditionError, CONDITION_LIMITS } from './condition.ts';

export const SEQUENCE_RULE_LIMITS = {
  minSteps: 2,
  maxSteps: 5,
  /** The longest `within`: the step buffers are kept this long plus the watermark delay. */
  maxWithinMs: 86_400_000,
} as const;

export interface SequenceStep {
  name: string;
  condition: string;
}

export interface SequenceRule {
  id: string;
  kind: 'sequence';
  topic: string;
  /** A field of the topic's normalised event; each value of it has its own state. */
  key: string;
  steps: SequenceStep[];
  /** As written, e.g. '10m'. */
  within: string;
  /** `within` in ms. */
  withinMs: number;
  alertType: string;
  level: Level;
  enabled: boolean;
  description?: string;
  version: number;
  updatedAt: number;
}

/** What a topic offers sequence rules: its normalised event's fields, and which may be keys. */
export interface SequenceTopic {
  topic: string;
  fields: readonly string[];
  keyFields: readonly string[];
}

/** The user_events topic (lib/schemas/events.ts UserEvent); the only one sequence rules read today. */
export const sequenceTopics: readonly SequenceTopic[] = Object.freeze([
  { topic: 'user_events', fields: ['userId', 'action', 'amount', 'ip', 'deviceId', 'city', 'eventTime'], keyFields: ['userId', 'deviceId', 'ip'] },
]);

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** '10m', '90s', '1h30m', '24h' to ms; undefined when it is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d{1,9})(ms|s|m|h|d)/gy;
  let ms = 0;
  let end = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    ms += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    end = re.lastIndex;
  }
  return end > 0 && end === text.length ? ms : undefined;
}

const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const STEP_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const ALERT_TYPE = /^[a-z][a-z0-9_]{0,63}$/;
const required = (what: string) => ({ error: (issue: { input: unknown }) => (issue.input === undefined ? 'required' : `must be ${what}`) });

export const sequenceRuleSchema = z.strictObject({
  id: z.string(required('a string')).check(z.regex(SLUG, 'must be a slug: 1-64 of a-z 0-9 _ -, starting with a letter or digit')),
  kind: z.literal('sequence', { error: 'must be "sequence"' }),
  topic: z.string(required('a string')),
  key: z.string(required('a string')),
  steps: z
    .array(
      z.strictObject({
        name: z.string(required('a string')).check(z.regex(STEP_NAME, 'must be 1-32 of a-z 0-9 _, starting with a letter')),
        condition: z.string(required('a string')).check(z.maxLength(CONDITION_LIMITS.maxLength, `must be at most ${CONDITION_LIMITS.maxLength} characters`)),
      }),
      required('a list of steps'),
    )
    .check(
      z.minLength(SEQUENCE_RULE_LIMITS.minSteps, `must have at least ${SEQUENCE_RULE_LIMITS.minSteps} steps`),
      z.maxLength(SEQUENCE_RULE_LIMITS.maxSteps, `must have at most ${SEQUENCE_RULE_LIMITS.maxSteps} steps`),
    ),
  within: z.string(required('a duration such as "10m"')).check(z.maxLength(32, 'must be a duration such as "10m"')),
  alertType: z.string(required('a string')).check(z.regex(ALERT_TYPE, 'must be 1-64 of a-z 0-9 _, starting with a letter')),
  level: z.enum(LEVELS, { error: `must be one of ${LEVELS.join(', ')}` }),
  enabled: z._default(z.boolean({ error: 'must be true or false' }), true),
  description: z.optional(z.string({ error: 'must be a string' }).check(z.maxLength(500, 'must be at most 500 characters'))),
  version: z._default(z.int({ error: 'must be an integer' }).check(z.minimum(0, 'must not be negative')), 0),
  updatedAt: z._default(z.int({ error: 'must be epoch milliseconds' }).check(z.minimum(0, 'must not be negative')), 0),
  // Accepted and dropped, so a computed rule read back (`rules list --json`) can be put again.
  withinMs: z.optional(z.number()),
});

export type SequenceRuleInput = z.input<typeof sequenceRuleSchema>;

export { isSequenceInput } from './kind.ts';

/**
 * Checks a sequence rule: its shape and bounds, its topic and key field, `within` (a duration of
 * at most 24 h), and that every step condition compiles against the topic's event.
 * @returns the rule with defaults filled in and `withinMs` computed.
 * @throws RuleValidationError listing each problem by field (`steps.1.condition`, `within`, ...).
 */
export function validateSequenceRule(input: unknown, topics: readonly SequenceTopic[] = sequenceTopics): SequenceRule {
  const parsed = sequenceRuleSchema.safeParse(input);
  const id = typeof (input as { id?: unknown })?.id === 'string' ? ((input as { id: string }).id.slice(0, 64)) : undefined;
  if (!parsed.success) {
    throw new RuleValidationError(id, parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.'), message: i.message })));
  }
  const r = parsed.data;
  const problems: RuleProblem[] = [];
  const topic = topics.find((t) => t.topic === r.topic);
  if (!topic) problems.push({ field: 'topic', message: `unknown topic "${r.topic}" (sequence rules read: ${topics.map((t) => t.topic).join(', ')})` });
  else if (!topic.keyFields.includes(r.key)) problems.push({ field: 'key', message: `must be one of ${topic.keyFields.join(', ')}` });
  const withinMs = parseDuration(r.within);
  if (withinMs === undefined || withinMs <= 0) problems.push({ field: 'within', message: 'must be a duration such as "10m", "90s" or "1h30m" (units ms, s, m, h, d)' });
  else if (withinMs > SEQUENCE_RULE_LIMITS.maxWithinMs) problems.push({ field: 'within', message: 'must be at most 24h' });
  const names = new Set<string>();
  r.steps.forEach((step, i) => {
    if (names.has(step.name)) problems.push({ field: `steps.${i}.name`, message: `"${step.name}" names two steps` });
    names.add(step.name);
    if (!topic) return;
    try {
      compileStepCondition(step.condition, topic.fields);
    } catch (err) {
      if (!(err instanceof ConditionError)) throw err;
      problems.push({ field: `steps.${i}.condition`, message: err.message });
    }
  });
  if (problems.length) throw new RuleValidationError(r.id, problems);
  const rule: SequenceRule = {
    id: r.id,
    kind: 'sequence',
    topic: r.topic,
    key: r.key,
    steps: r.steps.map((s) => ({ name: s.name, condition: s.condition })),
    within: r.within,
    withinMs: withinMs!,
    alertType: r.alertType,
    level: r.level,
    enabled: r.enabled,
    version: r.version,
    updatedAt: r.updatedAt,
  };
  if (r.description !== undefined) rule.description = r.description;
  return rule;
}
