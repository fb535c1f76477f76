/**
 * Step conditions of sequence rules: CEL (https://cel.dev) over the normalised event `e`, through
 * @marcbachmann/cel-js (docs/design.md, "Sequence rules", for why this library). CEL is not
 * Turing-complete and the library interprets its own AST: nothing is ever evaluated as code.
 *
 * Two history functions answer "was this value seen for this key within D" from the key's
 * stored history (lib/sequences/state.ts), never from a query:
 * - `seen('deviceId', duration('720h'))`: the event's own `deviceId` is among the values of that
 *   field in the key's events before it (ORDER) with eventTime >= t - D; false when the event has
 *   no such field.
 * - `seenAny('deviceId', duration('720h'))`: the key had at least one event with that field in
 *   [t - D, t), before it.
 * Both arguments must be literals, so the fields to keep history for and how long are known when
 * the rule is compiled (the history is bounded by them).
 *
 * A condition that fails at run time (a field the event lacks, `e.amount > 500` on a login) is
 * false for that event, as CEL's `&&` absorbs an error when its other side is false.
 */
import { Environment } from '@marcbachmann/cel-js';
import { StreamguardError } from '../errors.ts';

export const CONDITION_LIMITS = {
  /** Characters of one step condition. */
  maxLength: 1_000,
  /** Syntax-tree nodes, depth and list literal elements the parser accepts. */
  maxAstNodes: 200,
  maxDepth: 24,
  maxListElements: 64,
  /** The longest D a history function may look back: the stored history is kept that long. */
  maxHistoryMs: 90 * 86_400_000,
} as const;

/** A condition that does not parse, type-check or keep to the limits; the message says where. */
export class ConditionError extends StreamguardError {}

/** One history function a condition calls, with its literal arguments. */
export interface HistoryUse {
  fn: 'seen' | 'seenAny';
  field: string;
  withinMs: number;
}

/** A value's last occurrences, as the matcher hands them to the history functions. */
export interface HistoryView {
  /** Whether `value` of `field` occurred before the event (ORDER) at or after `since`. */
  seen(field: string, value: string, since: number): boolean;
  /** Whether any value of `field` occurred before the event (ORDER) at or after `since`. */
  seenAny(field: string, since: number): boolean;
}

/** The event a condition sees: its fields, absent ones left out (so `has(e.amount)` works). */
export type ConditionEvent = Readonly<Record<string, string | number>>;

export interface CompiledStepCondition {
  readonly source: string;
  readonly history: readonly HistoryUse[];
  /** Whether the event satisfies the condition, given the key's history before it. */
  test(event: ConditionEvent, history: HistoryView): boolean;
}

/**
 * The one evaluation in progress. CEL functions receive only their arguments, and evaluation is
 * synchronous, so the event and history at hand are set around each call (see `test`).
 */
let active: { event: ConditionEvent; history: HistoryView } | undefined;

interface CelDuration {
  seconds: number | bigint;
  nanos: number;
}

function msOf(d: CelDuration): number {
  return Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6);
}

const environment = new Environment({
  unlistedVariablesAreDyn: false,
  limits: {
    maxAstNodes: CONDITION_LIMITS.maxAstNodes,
    maxDepth: CONDITION_LIMITS.maxDepth,
    maxListElements: CONDITION_LIMITS.maxListElements,
    maxMapEntries: CONDITION_LIMITS.maxListElements,
    maxCallArguments: 8,
  },
})
  .registerVariable('e', 'map')
  .registerFunction('seen(string, google.protobuf.Duration): bool', (field: string, d: CelDuration) => {
    const now = active!;
    const value = now.event[field];
    if (value === undefined) return false;
    return now.history.seen(field, String(value), Number(now.event.eventTime) - msOf(d));
  })
  .registerFunction('seenAny(string, google.protobuf.Duration): bool', (field: string, d: CelDuration) => {
    const now = active!;
    return now.history.seenAny(field, Number(now.event.eventTime) - msOf(d));
  });

interface AstNode {
  op: string;
  args: unknown;
  pos?: number;
}

const isNode = (x: unknown): x is AstNode => typeof x === 'object' && x !== null && typeof (x as AstNode).op === 'string';

/** Parses a literal duration string the way CEL does ('720h', '10m', '1h30m', '90s'). */
function literalDurationMs(node: unknown): number | undefined {
  if (!isNode(node) || node.op !== 'call') return undefined;
  const [name, args] = node.args as [string, unknown[]];
  if (name !== 'duration' || args.length !== 1 || !isNode(args[0]) || args[0].op !== 'value' || typeof args[0].args !== 'string') return undefined;
  const text = args[0].args;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
  let ms = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(text)) !== null) {
    ms += Number(m[1]) * { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 }[m[2] as 'h' | 'm' | 's' | 'ms'];
    end = re.lastIndex;
  }
  return end === text.length && end > 0 ? ms : undefined;
}

/** Walks the tree: event fields must exist, history functions take literals within bounds. */
function inspect(node: unknown, fields: ReadonlySet<string>, uses: HistoryUse[], problems: string[]): void {
  if (Array.isArray(node)) {
    for (const n of node) inspect(n, fields, uses, problems);
    return;
  }
  if (!isNode(node)) return;
  if (node.op === '.' || node.op === '.?') {
    const [target, name] = node.args as [unknown, string];
    if (isNode(target) && target.op === 'id' && target.args === 'e' && !fields.has(name)) {
      problems.push(`e.${name} is not a field of the event (fields: ${[...fields].join(', ')})`);
    }
  }
  if (node.op === 'call') {
    const [name, args] = node.args as [string, unknown[]];
    if (name === 'seen' || name === 'seenAny') {
      const field = isNode(args[0]) && args[0].op === 'value' && typeof args[0].args === 'string' ? args[0].args : undefined;
      const withinMs = literalDurationMs(args[1]);
      if (field === undefined || !fields.has(field) || field === 'eventTime') {
        problems.push(`${name}() takes a field name literal first, one of ${[...fields].filter((f) => f !== 'eventTime').join(', ')}`);
      } else if (withinMs === undefined || withinMs <= 0 || withinMs > CONDITION_LIMITS.maxHistoryMs) {
        problems.push(`${name}() takes a literal duration('...') second, above 0 and at most ${CONDITION_LIMITS.maxHistoryMs / 3_600_000}h`);
      } else {
        uses.push({ fn: name, field, withinMs });
      }
    }
  }
  inspect(node.args, fields, uses, problems);
}

/**
 * Compiles one step condition against the fields of the topic's normalised event.
 * @throws ConditionError naming what is wrong (length, syntax, an unknown field or function, a
 *   history function without literal arguments, a result that is not a bool).
 */
export function compileStepCondition(source: string, fields: readonly string[]): CompiledStepCondition {
  if (source.length > CONDITION_LIMITS.maxLength) throw new ConditionError(`must be at most ${CONDITION_LIMITS.maxLength} characters`);
  if (source.trim() === '') throw new ConditionError('must not be empty');
  let evaluate: ReturnType<typeof environment.parse>;
  try {
    evaluate = environment.parse(source);
  } catch (err) {
    throw new ConditionError(firstLine(err));
  }
  const checked = evaluate.check();
  if (!checked.valid) throw new ConditionError(firstLine(checked.error));
  if (checked.type !== 'bool' && checked.type !== 'dyn') throw new ConditionError(`must be a bool expression, not ${checked.type}`);
  const uses: HistoryUse[] = [];
  const problems: string[] = [];
  inspect(evaluate.ast, new Set(fields), uses, problems);
  if (problems.length) throw new ConditionError(problems.join('; '));
  return {
    source,
    history: uses,
    test(event, history) {
      active = { event, history };
      try {
        return evaluate({ e: event }) === true;
      } catch {
        return false;
      } finally {
        active = undefined;
      }
    },
  };
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.slice(0, 300);
}
