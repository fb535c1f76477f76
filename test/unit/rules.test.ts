/** The rule language, rule validation and evaluation of the default rules, without I/O. */
import { describe, expect, it, vi } from 'vitest';
import { builtinPipelines, iot, payments, registrationsPerIp, risk } from '../../lib/pipelines/builtin.ts';
import { defaultRules, seedDefaults } from '../../lib/rules/defaults.ts';
import { evaluateRules } from '../../lib/rules/evaluate.ts';
import { compileCondition, EXPRESSION_LIMITS, ExpressionError, featureSchemaOf, parseExpression } from '../../lib/rules/expression.ts';
import { RuleCache, effectiveRules } from '../../lib/rules/rule-cache.ts';
import { InMemoryRuleStore } from '../../lib/rules/rule-store.ts';
import { RuleValidationError, validateRule, type Rule } from '../../lib/rules/rule.ts';
import type { Features } from '../../lib/windows/features-of.ts';
import { ruleCacheTtlFrom } from '../../lib/rules/wire.ts';
import { ConfigError } from '../../lib/config/env.ts';

const riskSchema = featureSchemaOf(risk);
const iotSchema = featureSchemaOf(iot);

const test = (condition: string, features: Features, schema = riskSchema) => compileCondition(condition, schema).test(features);

/** The error a condition raises, for asserting on its message and position. */
function errorOf(condition: string, schema = riskSchema): ExpressionError {
  try {
    compileCondition(condition, schema);
  } catch (err) {
    if (err instanceof ExpressionError) return err;
    throw err;
  }
  throw new Error(`"${condition}" compiled`);
}

const window = (f: Partial<{ events: number; devices: string[]; cities: string[]; logins: number }>): Features => ({
  events: 1,
  devices: ['d1'],
  cities: ['c1'],
  logins: 0,
  ...f,
});

describe('feature schema', () => {
  it('knows which features are sets', () => {
    expect(Object.fromEntries(riskSchema.features)).toEqual({ events: 'number', devices: 'set', cities: 'set', logins: 'number' });
    expect(iotSchema.features.get('rejected')).toBe('number');
    expect(iotSchema.features.get('temperatureAvg')).toBe('number');
  });
});

describe('condition language: parsing and precedence', () => {
  it('binds * before +, and + before comparison', () => {
    expect(test('logins + 2 * 3 == 7', window({ logins: 1 }))).toBe(true);
    expect(test('(logins + 2) * 3 == 9', window({ logins: 1 }))).toBe(true);
    expect(test('logins - 1 - 1 == 0', window({ logins: 2 }))).toBe(true); // left-associative
    expect(test('logins / 2 / 2 == 1', window({ logins: 4 }))).toBe(true);
    expect(test('-logins + 3 == 1', window({ logins: 2 }))).toBe(true);
  });

  it('binds NOT before AND, and AND before OR', () => {
    // true OR (false AND false): OR must not bind first.
    expect(test('logins > 0 OR logins > 5 AND events > 5', window({ logins: 1, events: 1 }))).toBe(true);
    expect(test('(logins > 0 OR logins > 5) AND events > 5', window({ logins: 1, events: 1 }))).toBe(false);
    // NOT applies to the comparison, not to the whole AND.
    expect(test('NOT logins > 5 AND events > 0', window({ logins: 1, events: 1 }))).toBe(true);
    expect(test('NOT (logins > 0 AND events > 0)', window({ logins: 1, events: 1 }))).toBe(false);
    expect(test('NOT NOT logins > 0', window({ logins: 1 }))).toBe(true);
  });

  it('accepts symbol and keyword spellings, keywords in any case, and SQL "="', () => {
    const f = window({ logins: 6, devices: ['a', 'b'], cities: ['x', 'y'] });
    for (const c of ['devices > 1 && cities > 1', 'devices > 1 and cities > 1', '!(logins <= 5)', 'not logins <= 5', 'logins = 6', 'logins == 6', 'logins != 5', 'logins >= 6 || false', 'TRUE', 'True AND logins < 7']) {
      expect(test(c, f), c).toBe(true);
    }
  });

  it('reads numbers with fractions and exponents', () => {
    expect(test('logins > 1.5e0', window({ logins: 2 }))).toBe(true);
    expect(test('logins < 2.5', window({ logins: 2 }))).toBe(true);
  });

  it('builds a tree with positions', () => {
    expect(parseExpression('a > 1')).toEqual({
      type: 'compare',
      op: '>',
      pos: 3,
      left: { type: 'feature', name: 'a', pos: 1 },
      right: { type: 'number', value: 1, pos: 5 },
    });
  });

  it('reports the features a condition reads', () => {
    expect(compileCondition('devices > 1 AND cities > 1 OR devices > 3', riskSchema).features).toEqual(['devices', 'cities']);
  });
});

describe('condition language: sets and missing values', () => {
  it('reads a set feature in a numeric comparison as its size, same as size()', () => {
    const f = window({ devices: ['a', 'b'] });
    expect(test('devices > 1', f)).toBe(true);
    expect(test('size(devices) > 1', f)).toBe(true);
    expect(test('devices == 2', f)).toBe(true);
    expect(test('devices > 2', f)).toBe(false);
    expect(test('devices + cities == 3', f)).toBe(true);
  });

  it('makes every comparison with a null or absent feature false', () => {
    const empty: Features = { count: 0, temperatureMin: null, humidityMax: null, rejected: 0 };
    for (const c of ['temperatureMin < 0', 'temperatureMin > 0', 'temperatureMin == 0', 'temperatureMin != 0', 'temperatureMin + 1 > 0', '-temperatureMin < 0']) {
      expect(test(c, empty, iotSchema), c).toBe(false);
    }
    // Two-valued logic: NOT of a false comparison is true.
    expect(test('NOT temperatureMin < 0', empty, iotSchema)).toBe(true);
    // A feature missing from the window entirely is treated like null.
    expect(test('temperatureMax > 0', { count: 1 }, iotSchema)).toBe(false);
  });

  it('gives division by zero no value', () => {
    expect(test('logins / events > 0', window({ logins: 1, events: 0 }))).toBe(false);
    expect(test('logins / events < 1000', window({ logins: 1, events: 0 }))).toBe(false);
  });
});

describe('condition language: errors name the problem and position', () => {
  const cases: [string, string][] = [
    ['device > 1', 'unknown feature "device" at 1 (did you mean "devices"? pipeline risk has: events, devices, cities, logins)'],
    ['logins > 1 AND zzz > 2', 'unknown feature "zzz" at 16 (pipeline risk has: events, devices, cities, logins)'],
    ['devices >', 'expected a number, feature or "(" after ">", found end of condition at 10'],
    ['logins > AND cities > 1', 'expected a number, feature or "(" after ">", found "AND" at 10'],
    ['logins > 5 AND', 'expected a number, feature or "(" after "AND", found end of condition at 15'],
    ['logins > 5 cities > 1', 'unexpected "cities" at 12 (missing AND or OR?)'],
    ['(logins > 5', 'expected ")" to close the "(" at 1, found end of condition at 12'],
    ['logins > 5)', 'unexpected ")" with no matching "(" at 11'],
    ['logins', 'the condition is a number, not true/false at 1 (compare it, e.g. logins > 0)'],
    ['devices AND cities > 1', 'AND needs conditions (true/false) on both sides, but its left side is a number at 1 (compare it, e.g. devices > 0)'],
    ['logins > (events > 1)', '">" compares numbers, but its right side is a condition (true/false) at 11'],
    ['NOT logins', 'NOT needs a condition (true/false), but its operand is a number at 5 (compare it, e.g. logins > 0)'],
    ['size(logins) > 1', 'size() needs a set feature, but "logins" is a number at 6 (compare it directly, e.g. logins > 1)'],
    ['count(devices) > 1', 'unknown function "count" at 1 (the only function is size(<set feature>))'],
    ['size(1) > 1', 'size() takes a feature name, found number 1 at 6'],
    ['1 < logins < 5', 'comparisons cannot be chained: "<" after "<" at 12 (combine them with AND)'],
    ['logins > 5x', 'malformed number "5x" at 10'],
    ['logins > 1.', 'malformed number "1." at 10'],
    ['logins > 1e999', 'number 1e999 is out of range at 10'],
    ['logins > "5"', 'unexpected character "\\"" at 10 (conditions have no strings: compare features with numbers)'],
    ['logins % 2 == 0', 'unexpected character "%" at 8'],
    ['', 'the condition is empty at 1 (write e.g. "logins > 5", or "true" to always match)'],
    ['   ', 'the condition is empty at 1 (write e.g. "logins > 5", or "true" to always match)'],
  ];
  it.each(cases)('%j', (condition, message) => {
    expect(errorOf(condition).message).toBe(message);
  });

  it('exposes problem and position separately', () => {
    const e = errorOf('logins >');
    expect(e).toBeInstanceOf(ExpressionError);
    expect(e.position).toBe(9);
    expect(e.problem).toBe('expected a number, feature or "(" after ">", found end of condition');
  });

  it('bounds length and nesting depth', () => {
    const long = `logins > ${'1'.repeat(EXPRESSION_LIMITS.maxLength)}`;
    expect(errorOf(long).message).toBe(`condition is too long: ${long.length} characters, at most 1000 at 1001`);
    const deep = `${'('.repeat(40)}logins > 1${')'.repeat(40)}`;
    expect(errorOf(deep).message).toBe('condition nests too deeply (more than 32 levels) at 33');
    expect(errorOf(`${'NOT '.repeat(40)}logins > 1`).message).toMatch(/^condition nests too deeply \(more than 32 levels\) at \d+$/);
    expect(errorOf(`logins > ${'-'.repeat(40)}1`).message).toMatch(/^condition nests too deeply/);
    // Within the bound, nesting is fine.
    expect(test(`${'('.repeat(30)}logins > 1${')'.repeat(30)}`, window({ logins: 2 }))).toBe(true);
  });
});

describe('condition language: hostile input is a parse error, never run', () => {
  const hostile: [string, RegExp][] = [
    ["constructor.constructor('x')()", /^unexpected character "\." at 12/],
    ['constructor > 1', /^unknown feature "constructor" at 1/],
    ['__proto__ > 1', /^unknown feature "__proto__" at 1/],
    ['toString > 0', /^unknown feature "toString" at 1/],
    ['process.exit()', /^unexpected character "\." at 8/],
    ['process.exit(1) OR true', /^unexpected character "\." at 8/],
    ['require("fs")', /^unexpected character "\\"" at 9 \(conditions have no strings/],
    ['require(fs)', /^unknown function "require" at 1/],
    ['logins > 1; process.exit(1)', /^unexpected character ";" at 11/],
    ['this.logins > 1', /^unexpected character "\." at 5/],
    ['logins[0] > 1', /^unexpected character "\[" at 7/],
    ['(() => 1)() > 0', /^expected a number, feature or "\(", found "\)" at 3/],
    ['`${process.exit()}`', /^unexpected character "`" at 1/],
    ['eval(x) > 0', /^unknown function "eval" at 1/],
    ['logins = 1 = 1', /^comparisons cannot be chained/],
  ];
  it.each(hostile)('%j', (condition, message) => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    try {
      expect(() => compileCondition(condition, riskSchema)).toThrow(ExpressionError);
      expect(errorOf(condition).message).toMatch(message);
      expect(exit).not.toHaveBeenCalled();
    } finally {
      exit.mockRestore();
    }
  });

  it('never reads inherited properties of the window, even without a schema', () => {
    // Compiled without a schema (as evaluateRules does), an odd name must still read nothing.
    const c = compileCondition('constructor > 0 OR __proto__ > 0 OR toString > 0 OR hasOwnProperty > 0');
    expect(c.test({})).toBe(false);
    expect(c.test(Object.create({ constructor: 5 }) as Features)).toBe(false);
  });
});

describe('validateRule', () => {
  const base = { id: 'r1', pipeline: 'risk', condition: 'logins > 5', level: 'MEDIUM' };

  it('takes a cooldown that is a positive multiple of its pipeline\'s window advance, naming the field otherwise', () => {
    const burst = { id: 'b1', pipeline: 'registrations', condition: 'registrations > 5', alertType: 'suspicious_ip' };
    // registrations: 10-minute windows every minute, so any whole number of minutes.
    expect(validateRule({ ...burst, cooldown: 30 * 60_000 }, builtinPipelines).cooldown).toBe(30 * 60_000);
    expect(validateRule({ ...burst, cooldown: 60_000 }, builtinPipelines).cooldown).toBe(60_000);
    expect('cooldown' in validateRule(burst, builtinPipelines)).toBe(false);
    const problem = (input: unknown) => {
      try {
        validateRule(input, builtinPipelines);
      } catch (err) {
        return (err as RuleValidationError).problems;
      }
      return [];
    };
    expect(problem({ ...burst, cooldown: 90_000 })).toEqual([{ field: 'cooldown', message: `must be a positive multiple of pipeline "registrations"'s window advance (60000 ms), got 90000 ms` }]);
    expect(problem({ ...burst, cooldown: 0 })).toEqual([{ field: 'cooldown', message: 'must be a positive number of milliseconds' }]);
    expect(problem({ ...burst, cooldown: -60_000 })[0]!.field).toBe('cooldown');
    expect(problem({ ...burst, cooldown: '10m' })[0]!.field).toBe('cooldown');
    // risk: tumbling hourly windows, advance = size.
    expect(problem({ ...base, cooldown: 30 * 60_000 })[0]).toMatchObject({ field: 'cooldown', message: expect.stringContaining('(3600000 ms)') });
    expect(validateRule({ ...base, cooldown: 2 * 3_600_000 }, builtinPipelines).cooldown).toBe(2 * 3_600_000);
  });

  it('fills defaults', () => {
    expect(validateRule(base, builtinPipelines)).toEqual({ ...base, emitsAlert: false, priority: 100, enabled: true, version: 0, updatedAt: 0 });
    expect(validateRule({ ...base, alertType: 'login_burst' }, builtinPipelines).emitsAlert).toBe(true);
  });

  it('accepts every default rule', () => {
    for (const rule of defaultRules) expect(validateRule(rule, builtinPipelines)).toEqual(rule);
  });

  function problemsOf(input: unknown): RuleValidationError {
    try {
      validateRule(input, builtinPipelines);
    } catch (err) {
      if (err instanceof RuleValidationError) return err;
      throw err;
    }
    throw new Error('validated');
  }

  it('names an unknown pipeline with the known ones', () => {
    expect(problemsOf({ ...base, pipeline: 'rsk' }).message).toBe(
      'invalid rule "r1": pipeline: unknown pipeline "rsk" (known: payments, risk, registrations, iot)',
    );
  });

  it('names an unknown feature with the pipeline and the position', () => {
    expect(problemsOf({ ...base, pipeline: 'payments' }).message).toBe(
      'invalid rule "r1": condition: unknown feature "logins" at 1 (pipeline payments has: count, amount)',
    );
  });

  it('names a syntax error with its position', () => {
    expect(problemsOf({ ...base, condition: 'logins >' }).message).toBe(
      'invalid rule "r1": condition: expected a number, feature or "(" after ">", found end of condition at 9',
    );
  });

  it('names every bad field at once, condition included', () => {
    const e = problemsOf({ id: 'Bad Id', pipeline: 'risk', condition: 'logins >> 1', level: 'CRITICAL', priority: 1.5, enabled: 'yes', extra: 1 });
    expect(e.ruleId).toBe('Bad Id');
    expect(e.problems).toEqual([
      { field: 'id', message: 'must be a slug: 1-64 of a-z 0-9 _ -, starting with a letter or digit' },
      { field: 'level', message: 'must be one of HIGH, MEDIUM, LOW, INFO' },
      { field: 'priority', message: 'must be an integer' },
      { field: 'enabled', message: 'must be true or false' },
      { field: '', message: 'Unrecognized key: "extra"' },
      { field: 'condition', message: 'expected a number, feature or "(" after ">", found ">" at 9' },
    ]);
    expect(e.message).toContain('invalid rule "Bad Id": id: must be a slug');
  });

  it('requires the core fields', () => {
    expect(problemsOf({}).message).toBe('invalid rule: id: required; pipeline: required; condition: required');
    expect(problemsOf(null).message).toMatch(/^invalid rule: /);
  });

  it('requires an alert type for alerting rules, and a purpose for every rule', () => {
    expect(problemsOf({ id: 'r', pipeline: 'risk', condition: 'true', emitsAlert: true }).message).toBe(
      'invalid rule "r": alertType: required when emitsAlert is true',
    );
    expect(problemsOf({ id: 'r', pipeline: 'risk', condition: 'true' }).message).toBe(
      'invalid rule "r": level: a rule must set a level, emit an alert, or both',
    );
    expect(problemsOf({ ...base, alertType: 'Payment Spree' }).message).toBe(
      'invalid rule "r1": alertType: must be 1-64 of a-z 0-9 _, starting with a letter',
    );
  });

  it('bounds the condition length', () => {
    expect(problemsOf({ ...base, condition: 'x'.repeat(1001) }).message).toBe('invalid rule "r1": condition: must be at most 1000 characters');
  });
});

describe('default rules', () => {
  it('cover every built-in pipeline', () => {
    expect(new Set(defaultRules.map((r) => r.pipeline))).toEqual(new Set(builtinPipelines.map((p) => p.name)));
  });

  it('risk: devices and cities both changed is HIGH, with an alert', () => {
    const r = evaluateRules(defaultRules, 'risk', window({ devices: ['a', 'b'], cities: ['x', 'y'], logins: 1 }));
    expect(r.level).toBe('HIGH');
    expect(r.matched.map((m) => m.id)).toEqual(['risk-high', 'risk-low']);
    expect(r.alerts.map((a) => [a.id, a.alertType])).toEqual([['risk-high', 'account_risk']]);
  });

  it('risk: HIGH wins over MEDIUM, and both alert', () => {
    const r = evaluateRules(defaultRules, 'risk', window({ devices: ['a', 'b'], cities: ['x', 'y'], logins: 9 }));
    expect(r.level).toBe('HIGH');
    expect(r.alerts.map((a) => a.id)).toEqual(['risk-high', 'risk-medium']);
  });

  it('risk: more than 5 logins is MEDIUM', () => {
    const r = evaluateRules(defaultRules, 'risk', window({ devices: ['a', 'b'], cities: ['x'], logins: 6 }));
    expect(r.level).toBe('MEDIUM');
    expect(r.alerts.map((a) => a.id)).toEqual(['risk-medium']);
  });

  it('risk: anything else is LOW, without an alert', () => {
    for (const f of [window({ logins: 5 }), window({ devices: ['a', 'b'], cities: ['x'] }), window({ devices: [], cities: [] })]) {
      const r = evaluateRules(defaultRules, 'risk', f);
      expect(r.level).toBe('LOW');
      expect(r.matched.map((m) => m.id)).toEqual(['risk-low']);
      expect(r.alerts).toEqual([]);
    }
  });

  it('registrations: more than 20 from one IP is a suspicious_ip alert', () => {
    expect(evaluateRules(defaultRules, 'registrations', { registrations: 21, users: ['u'] }).alerts.map((a) => a.alertType)).toEqual(['suspicious_ip']);
    expect(evaluateRules(defaultRules, 'registrations', { registrations: 20, users: ['u'] })).toEqual({ level: undefined, matched: [], alerts: [] });
  });

  it('payments: more than 10 in the window is a payment_spree alert', () => {
    expect(evaluateRules(defaultRules, 'payments', { count: 11, amount: 500 }).alerts.map((a) => a.alertType)).toEqual(['payment_spree']);
    expect(evaluateRules(defaultRules, 'payments', { count: 10, amount: 500 }).alerts).toEqual([]);
  });

  it('iot: more than 3 rejected readings is a sensor_out_of_range alert, even with no valid reading', () => {
    const empty: Features = { count: 0, rejected: 4, temperatureMin: null, temperatureMax: null, temperatureAvg: null, humidityMin: null, humidityMax: null, humidityAvg: null };
    expect(evaluateRules(defaultRules, 'iot', empty).alerts.map((a) => a.alertType)).toEqual(['sensor_out_of_range']);
    expect(evaluateRules(defaultRules, 'iot', { ...empty, rejected: 3 }).alerts).toEqual([]);
  });

  it('ignores other pipelines and an unknown pipeline', () => {
    expect(evaluateRules(defaultRules, 'nope', {})).toEqual({ level: undefined, matched: [], alerts: [] });
  });
});

describe('evaluateRules', () => {
  const rule = (r: Partial<Rule> & Pick<Rule, 'id' | 'condition'>): Rule => ({
    pipeline: 'payments',
    emitsAlert: false,
    level: 'INFO',
    priority: 100,
    enabled: true,
    version: 1,
    updatedAt: 0,
    ...r,
  });

  it('orders by priority, then id, and takes the level from the first match that sets one', () => {
    const rules = [
      rule({ id: 'c', condition: 'count > 0', level: 'LOW', priority: 5 }),
      rule({ id: 'b', condition: 'count > 0', level: 'HIGH', priority: 5 }),
      rule({ id: 'a', condition: 'count > 0', level: undefined, emitsAlert: true, alertType: 'x', priority: 1 }),
    ];
    const r = evaluateRules(rules, 'payments', { count: 1, amount: 1 });
    expect(r.matched.map((m) => m.id)).toEqual(['a', 'b', 'c']);
    expect(r.level).toBe('HIGH');
    expect(r.alerts.map((m) => m.id)).toEqual(['a']);
  });

  it('skips disabled rules', () => {
    const rules = [rule({ id: 'a', condition: 'true', enabled: false, level: 'HIGH' }), rule({ id: 'b', condition: 'true', level: 'LOW' })];
    expect(evaluateRules(rules, 'payments', {}).level).toBe('LOW');
  });

  it('recompiles when a rule changes, even without a version bump', () => {
    const before = [rule({ id: 'v', condition: 'count > 5' })];
    const after = [rule({ id: 'v', condition: 'count > 50' })];
    expect(evaluateRules(before, 'payments', { count: 10 }).matched).toHaveLength(1);
    expect(evaluateRules(after, 'payments', { count: 10 }).matched).toHaveLength(0);
  });

  it('reports an unparseable rule as a validation error naming it', () => {
    expect(() => evaluateRules([rule({ id: 'broken', condition: 'count >' })], 'payments', {})).toThrow(
      'invalid rule "broken": condition: expected a number, feature or "(" after ">", found end of condition at 8',
    );
  });

  it('is cheap enough for thousands of windows per run', () => {
    const rules = effectiveRules([], defaultRules);
    const start = performance.now();
    let high = 0;
    for (let i = 0; i < 100_000; i++) {
      const r = evaluateRules(rules, 'risk', { events: i, devices: i % 2 ? ['a', 'b'] : ['a'], cities: ['x', 'y'], logins: i % 7 });
      if (r.level === 'HIGH') high++;
    }
    expect(high).toBe(50_000);
    // Generous: about 20 ms on a laptop; this only catches recompiling per window.
    expect(performance.now() - start).toBeLessThan(2_000);
  });
});

describe('RuleCache with an in-memory store', () => {
  it('replaces a pipeline’s defaults with its stored rules, and keeps the others', async () => {
    const store = new InMemoryRuleStore(builtinPipelines, () => 1);
    await store.put({ id: 'big-spree', pipeline: 'payments', condition: 'count > 100', alertType: 'payment_spree' });
    const cache = new RuleCache({ store });
    const rules = await cache.rules();
    expect(rules.filter((r) => r.pipeline === 'payments').map((r) => r.id)).toEqual(['big-spree']);
    expect((await cache.rulesFor('risk')).map((r) => r.id)).toEqual(['risk-high', 'risk-medium', 'risk-low']);
    expect((await cache.evaluate('payments', { count: 11, amount: 0 })).alerts).toEqual([]);
    expect(Object.isFrozen(rules) && Object.isFrozen(rules[0])).toBe(true);
  });

  it('lets disabled stored rules switch a pipeline off', async () => {
    const store = new InMemoryRuleStore(builtinPipelines);
    await store.put({ ...defaultRules.find((r) => r.id === 'payments-spree')!, enabled: false });
    const cache = new RuleCache({ store });
    expect((await cache.evaluate('payments', { count: 1000, amount: 0 })).alerts).toEqual([]);
  });

  it('seeds defaults only where nothing is stored', async () => {
    const store = new InMemoryRuleStore([payments, risk, registrationsPerIp, iot]);
    await store.put({ id: 'mine', pipeline: 'iot', condition: 'rejected > 0', alertType: 'sensor_out_of_range' });
    expect(await seedDefaults(store)).toEqual({ seeded: ['risk', 'registrations', 'payments', 'sequence'], skipped: ['iot'] });
    expect(await seedDefaults(store)).toEqual({ seeded: [], skipped: ['risk', 'registrations', 'payments', 'iot', 'sequence'] });
    expect((await store.listAll()).sequences.map((r) => r.id)).toEqual(['new-device-payment']);
    expect((await store.list()).map((r) => r.id).sort()).toEqual(['mine', 'payments-spree', 'registrations-suspicious-ip', 'risk-high', 'risk-low', 'risk-medium']);
  });

  it('serves the last rules when a refresh fails, and throws when it has none', async () => {
    let now = 0;
    const store = new InMemoryRuleStore(builtinPipelines);
    const list = vi.spyOn(store, 'list');
    const errors: unknown[] = [];
    const cache = new RuleCache({ store, now: () => now, ttlMs: 30_000, retryMs: 5_000, onRefreshError: (e) => errors.push(e) });

    list.mockRejectedValueOnce(new Error('down'));
    await expect(cache.rules()).rejects.toThrow('down');

    const first = await cache.rules();
    now = 30_000;
    list.mockRejectedValueOnce(new Error('down again'));
    expect(await cache.rules()).toBe(first);
    expect(errors).toHaveLength(1);
    now = 34_999;
    await cache.rules();
    expect(list).toHaveBeenCalledTimes(3);
    now = 35_000;
    await cache.rules();
    expect(list).toHaveBeenCalledTimes(4);
  });

  it('shares one store read among concurrent callers', async () => {
    const store = new InMemoryRuleStore(builtinPipelines);
    const list = vi.spyOn(store, 'list');
    const cache = new RuleCache({ store });
    const lists = await Promise.all([cache.rules(), cache.rules(), cache.rules()]);
    expect(list).toHaveBeenCalledTimes(1);
    expect(lists[1]).toBe(lists[0]);
  });
});

describe('rule cache configuration', () => {
  it('reads RULE_CACHE_TTL_MS with a 30 s default', () => {
    expect(ruleCacheTtlFrom({})).toBe(30_000);
    expect(ruleCacheTtlFrom({ RULE_CACHE_TTL_MS: '5000' })).toBe(5_000);
    expect(() => ruleCacheTtlFrom({ RULE_CACHE_TTL_MS: '-1' })).toThrow(ConfigError);
    expect(() => ruleCacheTtlFrom({ RULE_CACHE_TTL_MS: '-1' })).toThrow(/RULE_CACHE_TTL_MS/);
  });
});
