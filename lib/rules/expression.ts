/**
 * The condition language of rules: a small, closed grammar over a window's features, parsed by
 * hand and compiled to a tree of closures. Nothing here builds or runs JavaScript source (no eval,
 * Function or vm), and feature lookups only ever read the window's own properties, so a stored
 * rule can do no more than compare numbers.
 *
 * ```
 * condition := or
 * or        := and (("OR" | "||") and)*
 * and       := not (("AND" | "&&") not)*
 * not       := ("NOT" | "!") not | compare
 * compare   := sum (("<" | "<=" | ">" | ">=" | "==" | "=" | "!=") sum)?
 * sum       := product (("+" | "-") product)*
 * product   := unary (("*" | "/") unary)*
 * unary     := "-" unary | primary
 * primary   := number | "true" | "false" | feature | "size" "(" feature ")" | "(" condition ")"
 * ```
 *
 * Keywords are case-insensitive. A set feature (a distinct count, e.g. `devices`) used as a number
 * means its size, so `devices > 1` and `size(devices) > 1` are the same condition. The function is
 * `size`, not `count`, because `count` is already a feature name (payments, iot).
 *
 * Missing values: a feature that is null (e.g. the minimum of an empty window) or absent, and
 * arithmetic without a defined result (x / 0), have no value; any comparison involving no value
 * is false, whichever the operator (`!=` included). Logic is two-valued: `NOT (t < 0)` is true
 * when t has no value.
 */
import { StreamguardError } from '../errors.ts';
import { magnitudeOf } from '../pipelines/features.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';
import type { Features } from '../windows/features-of.ts';

/** Bounds that keep parsing and evaluation cheap whatever is stored. */
export const EXPRESSION_LIMITS = { maxLength: 1000, maxDepth: 32 } as const;

/** A condition that cannot be parsed or does not fit its pipeline; `position` is 1-based. */
export class ExpressionError extends StreamguardError {
  constructor(
    /** What is wrong, without the position. */
    readonly problem: string,
    /** 1-based character position in the condition. */
    readonly position: number,
    /** What would help (the pipeline's features, a likely fix). */
    readonly hint?: string,
  ) {
    super(`${problem} at ${position}${hint ? ` (${hint})` : ''}`);
  }
}

export type FeatureKind = 'number' | 'set';

/** What a pipeline offers to conditions: its feature names and whether each is a number or a set. */
export interface FeatureSchema {
  pipeline: string;
  features: ReadonlyMap<string, FeatureKind>;
}

/** The part of a pipeline conditions depend on; `Pipeline` itself fits. */
export type PipelineLike = Pick<Pipeline, 'name' | 'features'>;

/** Reads a pipeline's features: a feature stored as a string set is a set, anything else a number. */
export function featureSchemaOf(pipeline: PipelineLike): FeatureSchema {
  const features = new Map<string, FeatureKind>();
  for (const [name, feature] of Object.entries(pipeline.features)) {
    features.set(name, feature.slots(name).some((s) => s.op === 'set') ? 'set' : 'number');
  }
  return { pipeline: pipeline.name, features };
}

// ---------------------------------------------------------------------------------------------
// Tokens

type Op = '<' | '<=' | '>' | '>=' | '==' | '!=' | '+' | '-' | '*' | '/' | 'AND' | 'OR' | 'NOT';

type Token =
  | { kind: 'number'; value: number; text: string; pos: number }
  | { kind: 'bool'; value: boolean; text: string; pos: number }
  | { kind: 'ident'; name: string; text: string; pos: number }
  | { kind: 'op'; op: Op; text: string; pos: number }
  | { kind: '(' | ')'; text: string; pos: number }
  | { kind: 'end'; text: string; pos: number };

const KEYWORDS: Record<string, Op | boolean> = { and: 'AND', or: 'OR', not: 'NOT', true: true, false: false };
const SYMBOLS: [string, Op][] = [
  ['&&', 'AND'],
  ['||', 'OR'],
  ['<=', '<='],
  ['>=', '>='],
  ['==', '=='],
  ['!=', '!='],
  ['<', '<'],
  ['>', '>'],
  // SQL spelling, as the source system's rules wrote it.
  ['=', '=='],
  ['!', 'NOT'],
  ['+', '+'],
  ['-', '-'],
  ['*', '*'],
  ['/', '/'],
];
const NUMBER = /[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const WHITESPACE = /[ \t\r\n]+/y;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    WHITESPACE.lastIndex = i;
    if (WHITESPACE.test(source)) {
      i = WHITESPACE.lastIndex;
      continue;
    }
    const pos = i + 1;
    const ch = source[i]!;
    if (ch >= '0' && ch <= '9') {
      NUMBER.lastIndex = i;
      NUMBER.test(source);
      let end = NUMBER.lastIndex;
      const text = source.slice(i, end);
      // "5x" or "1.": glued characters would otherwise read as a second token and confuse the message.
      WORD.lastIndex = end;
      if (source[end] === '.' || WORD.test(source)) {
        while (end < source.length && /[A-Za-z0-9_.]/.test(source[end]!)) end++;
        throw new ExpressionError(`malformed number "${source.slice(i, end)}"`, pos);
      }
      const value = Number(text);
      if (!Number.isFinite(value)) throw new ExpressionError(`number ${text} is out of range`, pos);
      tokens.push({ kind: 'number', value, text, pos });
      i = end;
      continue;
    }
    WORD.lastIndex = i;
    if (WORD.test(source)) {
      const text = source.slice(i, WORD.lastIndex);
      const keyword = Object.hasOwn(KEYWORDS, text.toLowerCase()) ? KEYWORDS[text.toLowerCase()] : undefined;
      if (typeof keyword === 'boolean') tokens.push({ kind: 'bool', value: keyword, text, pos });
      else if (keyword !== undefined) tokens.push({ kind: 'op', op: keyword, text, pos });
      else tokens.push({ kind: 'ident', name: text, text, pos });
      i = WORD.lastIndex;
      continue;
    }
    if (ch === '(' || ch === ')') {
      tokens.push({ kind: ch, text: ch, pos });
      i++;
      continue;
    }
    const symbol = SYMBOLS.find(([s]) => source.startsWith(s, i));
    if (symbol) {
      tokens.push({ kind: 'op', op: symbol[1], text: symbol[0], pos });
      i += symbol[0].length;
      continue;
    }
    throw new ExpressionError(`unexpected character ${JSON.stringify(ch)}`, pos, hintForCharacter(ch));
  }
  tokens.push({ kind: 'end', text: '', pos: source.length + 1 });
  return tokens;
}

function hintForCharacter(ch: string): string | undefined {
  if (ch === '"' || ch === "'" || ch === '`') return 'conditions have no strings: compare features with numbers';
  if (ch === '.' || ch === '[' || ch === ']') return 'features are plain names: there is no property access';
  if (ch === ',' || ch === ';' || ch === '{' || ch === '}') return 'a condition is one expression over features and numbers';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

/** A parsed condition. `pos` is the 1-based position of the node's first (or operator) character. */
export type Expr =
  | { type: 'number'; value: number; pos: number }
  | { type: 'bool'; value: boolean; pos: number }
  | { type: 'feature'; name: string; pos: number }
  | { type: 'size'; name: string; pos: number; namePos: number }
  | { type: 'negate'; operand: Expr; pos: number }
  | { type: 'not'; operand: Expr; pos: number }
  | { type: 'arith'; op: '+' | '-' | '*' | '/'; left: Expr; right: Expr; pos: number }
  | { type: 'compare'; op: '<' | '<=' | '>' | '>=' | '==' | '!='; left: Expr; right: Expr; pos: number }
  | { type: 'logic'; op: 'AND' | 'OR'; left: Expr; right: Expr; pos: number };

const COMPARISONS = new Set<Op>(['<', '<=', '>', '>=', '==', '!=']);

function describe(t: Token): string {
  switch (t.kind) {
    case 'end':
      return 'end of condition';
    case 'ident':
      return `"${t.text}"`;
    case 'number':
      return `number ${t.text}`;
    default:
      return `"${t.text}"`;
  }
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): Expr {
    const expr = this.or();
    const t = this.peek();
    if (t.kind !== 'end') {
      if (t.kind === ')') throw new ExpressionError('unexpected ")" with no matching "("', t.pos);
      const hint = t.kind === 'ident' || t.kind === 'number' || t.kind === 'bool' || t.kind === '(' ? 'missing AND or OR?' : undefined;
      throw new ExpressionError(`unexpected ${describe(t)}`, t.pos, hint);
    }
    return expr;
  }

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private next(): Token {
    return this.tokens[this.i++]!;
  }

  private isOp(...ops: Op[]): boolean {
    const t = this.peek();
    return t.kind === 'op' && ops.includes(t.op);
  }

  /** Guards every recursive descent that the input can repeat (parentheses, NOT, unary minus). */
  private nested<T>(pos: number, parse: () => T): T {
    if (++this.depth > EXPRESSION_LIMITS.maxDepth) {
      throw new ExpressionError(`condition nests too deeply (more than ${EXPRESSION_LIMITS.maxDepth} levels)`, pos);
    }
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private or(): Expr {
    let left = this.and();
    while (this.isOp('OR')) {
      const op = this.next();
      left = { type: 'logic', op: 'OR', left, right: this.operand(op, () => this.and()), pos: op.pos };
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.isOp('AND')) {
      const op = this.next();
      left = { type: 'logic', op: 'AND', left, right: this.operand(op, () => this.not()), pos: op.pos };
    }
    return left;
  }

  private not(): Expr {
    if (this.isOp('NOT')) {
      const op = this.next();
      return { type: 'not', operand: this.nested(op.pos, () => this.operand(op, () => this.not())), pos: op.pos };
    }
    return this.compare();
  }

  private compare(): Expr {
    const left = this.sum();
    const t = this.peek();
    if (t.kind !== 'op' || !COMPARISONS.has(t.op)) return left;
    this.next();
    const right = this.operand(t, () => this.sum());
    const after = this.peek();
    if (after.kind === 'op' && COMPARISONS.has(after.op)) {
      throw new ExpressionError(`comparisons cannot be chained: "${after.text}" after "${t.text}"`, after.pos, 'combine them with AND');
    }
    return { type: 'compare', op: t.op as Extract<Expr, { type: 'compare' }>['op'], left, right, pos: t.pos };
  }

  private sum(): Expr {
    let left = this.product();
    while (this.isOp('+', '-')) {
      const op = this.next() as Extract<Token, { kind: 'op' }>;
      left = { type: 'arith', op: op.op as '+' | '-', left, right: this.operand(op, () => this.product()), pos: op.pos };
    }
    return left;
  }

  private product(): Expr {
    let left = this.unary();
    while (this.isOp('*', '/')) {
      const op = this.next() as Extract<Token, { kind: 'op' }>;
      left = { type: 'arith', op: op.op as '*' | '/', left, right: this.operand(op, () => this.unary()), pos: op.pos };
    }
    return left;
  }

  private unary(): Expr {
    if (this.isOp('-')) {
      const op = this.next();
      return { type: 'negate', operand: this.nested(op.pos, () => this.operand(op, () => this.unary())), pos: op.pos };
    }
    return this.primary();
  }

  /** Parses what must follow an operator, naming the operator if nothing usable is there. */
  private operand(op: Token, parse: () => Expr): Expr {
    const t = this.peek();
    if (t.kind === 'end' || t.kind === ')' || (t.kind === 'op' && t.op !== 'NOT' && t.op !== '-')) {
      throw new ExpressionError(`expected a number, feature or "(" after "${op.text}", found ${describe(t)}`, t.pos);
    }
    return parse();
  }

  private primary(): Expr {
    const t = this.next();
    switch (t.kind) {
      case 'number':
        return { type: 'number', value: t.value, pos: t.pos };
      case 'bool':
        return { type: 'bool', value: t.value, pos: t.pos };
      case 'ident': {
        if (this.peek().kind !== '(') return { type: 'feature', name: t.name, pos: t.pos };
        return this.call(t);
      }
      case '(': {
        const inner = this.nested(t.pos, () => this.or());
        const close = this.next();
        if (close.kind !== ')') {
          throw new ExpressionError(`expected ")" to close the "(" at ${t.pos}, found ${describe(close)}`, close.pos);
        }
        return inner;
      }
      default:
        throw new ExpressionError(`expected a number, feature or "(", found ${describe(t)}`, t.pos);
    }
  }

  private call(fn: Extract<Token, { kind: 'ident' }>): Expr {
    if (fn.name !== 'size') {
      throw new ExpressionError(`unknown function "${fn.name}"`, fn.pos, 'the only function is size(<set feature>)');
    }
    this.next();
    const arg = this.next();
    if (arg.kind !== 'ident') throw new ExpressionError(`size() takes a feature name, found ${describe(arg)}`, arg.pos);
    const close = this.next();
    if (close.kind !== ')') throw new ExpressionError(`expected ")" after size(${arg.name}, found ${describe(close)}`, close.pos);
    return { type: 'size', name: arg.name, pos: fn.pos, namePos: arg.pos };
  }
}

/**
 * Parses a condition into its syntax tree without checking features or types.
 * @throws ExpressionError naming the problem and its 1-based position.
 */
export function parseExpression(source: string): Expr {
  if (typeof source !== 'string') throw new ExpressionError('the condition must be a string', 1);
  if (source.length > EXPRESSION_LIMITS.maxLength) {
    throw new ExpressionError(`condition is too long: ${source.length} characters, at most ${EXPRESSION_LIMITS.maxLength}`, EXPRESSION_LIMITS.maxLength + 1);
  }
  const tokens = tokenize(source);
  if (tokens.length === 1) throw new ExpressionError('the condition is empty', 1, 'write e.g. "logins > 5", or "true" to always match');
  return new Parser(tokens).parse();
}

// ---------------------------------------------------------------------------------------------
// Checking and compiling

type Type = 'number' | 'boolean';
type NumberFn = (f: Features) => number | null;
type BoolFn = (f: Features) => boolean;
type Compiled = { type: 'number'; fn: NumberFn } | { type: 'boolean'; fn: BoolFn };

/** A condition ready to test windows; cheap to call, safe to share. */
export interface CompiledCondition {
  readonly source: string;
  /** Feature names the condition reads. */
  readonly features: readonly string[];
  /** Whether the window's features satisfy the condition. Never throws. */
  test(features: Features): boolean;
}

/**
 * A feature's value as a number: a set means its size, a distinct summary its count (an estimate past
 * the feature's cap); null, absent or non-finite mean no value.
 */
function readNumber(features: Features, name: string): number | null {
  // Own properties only: a name like "constructor" must never reach Object.prototype.
  if (!Object.hasOwn(features, name)) return null;
  const v = magnitudeOf(features[name]);
  return v !== null && Number.isFinite(v) ? v : null;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

class Checker {
  readonly used = new Set<string>();

  constructor(private readonly schema: FeatureSchema | undefined) {}

  private kindOf(name: string, pos: number): FeatureKind | undefined {
    this.used.add(name);
    if (!this.schema) return undefined;
    const kind = this.schema.features.get(name);
    if (kind) return kind;
    const names = [...this.schema.features.keys()];
    const close = names
      .map((n) => ({ n, d: editDistance(name.toLowerCase(), n.toLowerCase()) }))
      .filter((c) => c.d <= 2)
      .sort((x, y) => x.d - y.d)[0];
    const list = `pipeline ${this.schema.pipeline} has: ${names.join(', ')}`;
    throw new ExpressionError(`unknown feature "${name}"`, pos, close ? `did you mean "${close.n}"? ${list}` : list);
  }

  compile(e: Expr): Compiled {
    switch (e.type) {
      case 'number': {
        const v = e.value;
        return { type: 'number', fn: () => v };
      }
      case 'bool': {
        const v = e.value;
        return { type: 'boolean', fn: () => v };
      }
      case 'feature': {
        this.kindOf(e.name, e.pos);
        const name = e.name;
        return { type: 'number', fn: (f) => readNumber(f, name) };
      }
      case 'size': {
        const kind = this.kindOf(e.name, e.namePos);
        if (kind === 'number') {
          throw new ExpressionError(`size() needs a set feature, but "${e.name}" is a number`, e.namePos, `compare it directly, e.g. ${e.name} > 1`);
        }
        const name = e.name;
        return { type: 'number', fn: (f) => readNumber(f, name) };
      }
      case 'negate': {
        const x = this.expect(e.operand, 'number', `"-" needs a number, but its operand`);
        return {
          type: 'number',
          fn: (f) => {
            const v = x(f);
            return v === null ? null : -v;
          },
        };
      }
      case 'not': {
        const x = this.expect(e.operand, 'boolean', `NOT needs a condition (true/false), but its operand`);
        return { type: 'boolean', fn: (f) => !x(f) };
      }
      case 'arith': {
        const l = this.expect(e.left, 'number', `"${e.op}" needs numbers on both sides, but its left side`);
        const r = this.expect(e.right, 'number', `"${e.op}" needs numbers on both sides, but its right side`);
        return { type: 'number', fn: arithmetic(e.op, l, r) };
      }
      case 'compare':
        return { type: 'boolean', fn: this.comparison(e) };
      case 'logic': {
        const l = this.expect(e.left, 'boolean', `${e.op} needs conditions (true/false) on both sides, but its left side`);
        const r = this.expect(e.right, 'boolean', `${e.op} needs conditions (true/false) on both sides, but its right side`);
        return { type: 'boolean', fn: e.op === 'AND' ? (f) => l(f) && r(f) : (f) => l(f) || r(f) };
      }
    }
  }

  expect(e: Expr, type: 'number', what: string): NumberFn;
  expect(e: Expr, type: 'boolean', what: string): BoolFn;
  expect(e: Expr, type: Type, what: string): NumberFn | BoolFn {
    const c = this.compile(e);
    if (c.type === type) return c.fn;
    const actual = c.type === 'number' ? 'a number' : 'a condition (true/false)';
    const hint = c.type === 'number' && (e.type === 'feature' || e.type === 'size') ? `compare it, e.g. ${e.name} > 0` : undefined;
    throw new ExpressionError(`${what} is ${actual}`, startOf(e), hint);
  }

  private comparison(e: Extract<Expr, { type: 'compare' }>): BoolFn {
    const left = this.compile(e.left);
    const right = this.compile(e.right);
    if (left.type === 'boolean' && right.type === 'boolean' && (e.op === '==' || e.op === '!=')) {
      const l = left.fn;
      const r = right.fn;
      return e.op === '==' ? (f) => l(f) === r(f) : (f) => l(f) !== r(f);
    }
    for (const [side, c, node] of [['left', left, e.left], ['right', right, e.right]] as const) {
      if (c.type !== 'number') {
        throw new ExpressionError(`"${e.op}" compares numbers, but its ${side} side is a condition (true/false)`, startOf(node));
      }
    }
    const l = left.fn as NumberFn;
    const r = right.fn as NumberFn;
    const cmp = COMPARE[e.op];
    return (f) => {
      const a = l(f);
      if (a === null) return false;
      const b = r(f);
      return b !== null && cmp(a, b);
    };
  }
}

const COMPARE: Record<Extract<Expr, { type: 'compare' }>['op'], (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

function arithmetic(op: '+' | '-' | '*' | '/', l: NumberFn, r: NumberFn): NumberFn {
  const apply =
    op === '+' ? (a: number, b: number) => a + b : op === '-' ? (a: number, b: number) => a - b : op === '*' ? (a: number, b: number) => a * b : (a: number, b: number) => a / b;
  return (f) => {
    const a = l(f);
    if (a === null) return null;
    const b = r(f);
    if (b === null) return null;
    const v = apply(a, b);
    // x / 0 and overflow have no meaningful value; comparing them must not fire a rule.
    return Number.isFinite(v) ? v : null;
  };
}

/** Where a node's text begins, for messages about the node as a whole. */
function startOf(e: Expr): number {
  switch (e.type) {
    case 'arith':
    case 'compare':
    case 'logic':
      return startOf(e.left);
    default:
      return e.pos;
  }
}

/**
 * Parses, checks and compiles a condition. With a schema, every feature must exist in that
 * pipeline and `size()` must name a set feature; without one (rules already validated), any
 * feature name is accepted and read at evaluation time.
 * @throws ExpressionError naming the problem and its 1-based position.
 */
export function compileCondition(source: string, schema?: FeatureSchema): CompiledCondition {
  const tree = parseExpression(source);
  const checker = new Checker(schema);
  const compiled = checker.compile(tree);
  if (compiled.type !== 'boolean') {
    const hint = tree.type === 'feature' || tree.type === 'size' ? `compare it, e.g. ${tree.name} > 0` : 'compare it with >, <, == ...';
    throw new ExpressionError('the condition is a number, not true/false', 1, hint);
  }
  const fn = compiled.fn;
  return Object.freeze({
    source,
    features: Object.freeze([...checker.used]),
    test: (features: Features) => fn(features),
  });
}
