/**
 * Which rules fire early: at ingest, the moment a window's features first satisfy them, instead of
 * when the window closes (docs/design.md, "Early alerts").
 *
 * A rule may fire early only if adding events to its window can turn its condition from false to
 * true but never back: an early alert is never taken back, so the closer, evaluating the final
 * features, must find the same rule matching. That holds for a condition that is monotone in the
 * window's events, which this module derives from the condition's syntax tree and each feature's
 * declared direction (lib/pipelines/features.ts, FeatureDirection). Never declared by hand.
 *
 * - A numeric expression is `up` (never decreases), `down` (never increases), `const`, or `either`.
 *   Features give their direction; `-x` flips it; `a + b` keeps a shared direction and `a - b` is
 *   `a + (-b)`; multiplying or dividing by a constant keeps it (positive) or flips it (negative);
 *   anything else (a product of features, a ratio) is `either`.
 * - `L > R` and `L >= R` can only become true when `L - R` is up (or constant); `L < R` and
 *   `L <= R` when it is down. So `5 < count` is as early as `count > 5`, and `max - min > 10` is
 *   early too. A comparison involving no value (min of an empty window) is false, and a feature
 *   never loses its value once it has one, so "no value yet" is just another "not yet true".
 * - `=`, `!=` and NOT can turn false again; AND and OR of early conditions are early.
 * - A constant factor is at most CONSTANT_BOUND in magnitude, so a product of a stored number
 *   (DynamoDB numbers are below 1e126) stays finite: an overflow would read as "no value" and turn
 *   a true comparison false.
 * - A rule that raises no alert (it only sets a level) is decided at close: levels are a verdict on
 *   the whole window.
 */
import type { Feature, FeatureDirection } from '../pipelines/features.ts';
import { parseExpression, type Expr } from './expression.ts';
import { isAlerting, type Rule } from './rule.ts';

/** When a rule's alert can be raised. */
export type Timing = 'early' | 'close';

/** The decision and why, in words an operator reads (`rules list`, `rules put`, `rules test`). */
export interface RuleTiming {
  timing: Timing;
  reason: string;
}

/** What the analysis needs of a pipeline: its features and their directions. */
export interface PipelineFeatures {
  name: string;
  features: Readonly<Record<string, Pick<Feature<unknown>, 'direction'>>>;
}

/** Largest constant factor that keeps a direction (see the module comment). */
export const CONSTANT_BOUND = 1e100;

type Direction = 'up' | 'down' | 'const' | 'either';

interface Trend {
  direction: Direction;
  /** The value of a constant expression (undefined: no value, e.g. 1 / 0). */
  value?: number;
  /** Why the expression moves either way, when it does. */
  why?: string;
}

/** Prints a node back as a condition, for reasons (parenthesised where the grammar needs it). */
export function show(e: Expr): string {
  switch (e.type) {
    case 'number':
      return String(e.value);
    case 'bool':
      return String(e.value);
    case 'feature':
      return e.name;
    case 'size':
      return `size(${e.name})`;
    case 'negate':
      return `-${wrap(e.operand)}`;
    case 'not':
      return `NOT ${wrap(e.operand)}`;
    case 'arith':
    case 'compare':
    case 'logic':
      return `${wrap(e.left)} ${e.op} ${wrap(e.right)}`;
  }
}

const wrap = (e: Expr) => (e.type === 'arith' || e.type === 'compare' || e.type === 'logic' ? `(${show(e)})` : show(e));

const flip = (t: Trend): Trend =>
  t.direction === 'up' ? { direction: 'down' } : t.direction === 'down' ? { direction: 'up' } : t.direction === 'const' ? { direction: 'const', value: t.value === undefined ? undefined : -t.value } : t;

function plus(a: Trend, b: Trend, what: string): Trend {
  if (a.direction === 'either') return a;
  if (b.direction === 'either') return b;
  if (a.direction === 'const' && b.direction === 'const') return { direction: 'const', value: a.value === undefined || b.value === undefined ? undefined : a.value + b.value };
  if (a.direction === 'const') return b;
  if (b.direction === 'const') return a;
  if (a.direction === b.direction) return a;
  return { direction: 'either', why: `${what} adds a part that grows to one that shrinks` };
}

function scaled(t: Trend, factor: number | undefined, what: string): Trend {
  if (t.direction === 'const') return { direction: 'const', value: t.value === undefined || factor === undefined ? undefined : t.value * factor };
  if (t.direction === 'either') return t;
  if (factor === undefined || !Number.isFinite(factor) || factor === 0) return { direction: 'either', why: `${what} has no value (a division by zero)` };
  if (Math.abs(factor) > CONSTANT_BOUND || Math.abs(factor) < 1 / CONSTANT_BOUND) {
    return { direction: 'either', why: `${what} scales by a constant beyond ${CONSTANT_BOUND}, which could overflow` };
  }
  return factor > 0 ? t : flip(t);
}

const DIRECTION_WORDS: Record<FeatureDirection, string> = { up: 'never decreases', down: 'never increases' };

class Analysis {
  /** The features read, with what each does as events arrive. */
  readonly facts = new Map<string, string>();

  constructor(private readonly pipeline: PipelineFeatures) {}

  private feature(name: string): Trend {
    const feature = Object.hasOwn(this.pipeline.features, name) ? this.pipeline.features[name] : undefined;
    const direction = feature?.direction;
    if (direction === undefined) {
      this.facts.set(name, 'can move either way');
      return { direction: 'either', why: feature ? `${name} can move either way as events arrive (e.g. a mean, or a sum of signed values)` : `${name} is not a feature of pipeline ${this.pipeline.name}` };
    }
    this.facts.set(name, DIRECTION_WORDS[direction]);
    return { direction };
  }

  numeric(e: Expr): Trend {
    switch (e.type) {
      case 'number':
        return { direction: 'const', value: e.value };
      case 'feature':
      case 'size':
        return this.feature(e.name);
      case 'negate':
        return flip(this.numeric(e.operand));
      case 'arith': {
        const l = this.numeric(e.left);
        const r = this.numeric(e.right);
        const what = `\`${show(e)}\``;
        if (e.op === '+') return plus(l, r, what);
        if (e.op === '-') return plus(l, flip(r), what);
        if (e.op === '*') {
          if (l.direction === 'const') return scaled(r, l.value, what);
          if (r.direction === 'const') return scaled(l, r.value, what);
          return { direction: 'either', why: `${what} multiplies features, which can move either way` };
        }
        if (r.direction === 'const') return scaled(l, r.value === undefined || r.value === 0 ? undefined : 1 / r.value, what);
        return { direction: 'either', why: `${what} divides by a feature (a ratio), which can move either way` };
      }
      default:
        // Booleans in a number's place do not type-check; validated rules never get here.
        return { direction: 'either', why: `\`${show(e)}\` is not a number` };
    }
  }

  /** Undefined when the condition can only turn true as events arrive; otherwise why not. */
  condition(e: Expr): string | undefined {
    switch (e.type) {
      case 'bool':
        return undefined;
      case 'not':
        return `\`${show(e)}\` negates a condition: NOT can turn false as events arrive`;
      case 'logic':
        return this.condition(e.left) ?? this.condition(e.right);
      case 'compare': {
        if (e.op === '==' || e.op === '!=') return `\`${show(e)}\` is an equality: it can turn false again as events arrive`;
        const difference = plus(this.numeric(e.left), flip(this.numeric(e.right)), `\`${show(e)}\``);
        if (difference.direction === 'either') return difference.why;
        if (difference.direction === 'const') return undefined;
        const wants = e.op === '>' || e.op === '>=' ? 'up' : 'down';
        if (difference.direction === wants) return undefined;
        return `\`${show(e)}\` can turn false again as events arrive (its left side ${wants === 'up' ? 'only shrinks against its right' : 'only grows against its right'})`;
      }
      default:
        return `\`${show(e)}\` is not a condition`;
    }
  }
}

function factsOf(facts: Map<string, string>): string {
  if (facts.size === 0) return 'it reads no feature';
  return [...facts].map(([name, fact]) => `${name} ${fact}`).join(', ');
}

/**
 * Whether a condition can only turn from false to true as events are added to its window, and why.
 * A condition that does not parse is decided at close (validation reports it elsewhere).
 */
export function conditionTiming(condition: string, pipeline: PipelineFeatures): RuleTiming {
  let tree: Expr;
  try {
    tree = parseExpression(condition);
  } catch (err) {
    return { timing: 'close', reason: `at close: the condition does not parse (${(err as Error).message})` };
  }
  const analysis = new Analysis(pipeline);
  const why = analysis.condition(tree);
  if (why !== undefined) return { timing: 'close', reason: `at close: ${why}` };
  return { timing: 'early', reason: `early: the condition can only turn true as events arrive (${factsOf(analysis.facts)})` };
}

/**
 * When a rule's alert is raised: early (at ingest, once the condition holds) or at close.
 * Disabled rules are analysed too (the answer says what they would do when enabled).
 */
export function ruleTiming(rule: Pick<Rule, 'pipeline' | 'condition' | 'emitsAlert' | 'alertType'>, pipelines: readonly PipelineFeatures[]): RuleTiming {
  if (!isAlerting(rule as Rule)) return { timing: 'close', reason: 'at close: the rule raises no alert (it only sets a level, a verdict on the whole window)' };
  const pipeline = pipelines.find((p) => p.name === rule.pipeline);
  if (!pipeline) return { timing: 'close', reason: `at close: unknown pipeline "${rule.pipeline}"` };
  return conditionTiming(rule.condition, pipeline);
}
