/** Sequence rules as data (lib/sequences/rule.ts) and their CEL conditions (lib/sequences/condition.ts). */
import { describe, expect, it } from 'vitest';
import { compileStepCondition, ConditionError } from '../../lib/sequences/condition.ts';
import { defaultSequenceRules } from '../../lib/sequences/defaults.ts';
import { parseDuration, validateSequenceRule } from '../../lib/sequences/rule.ts';
import { RuleValidationError } from '../../lib/rules/rule.ts';

const FIELDS = ['userId', 'action', 'amount', 'ip', 'deviceId', 'city', 'eventTime'];
const base = {
  id: 'r1',
  kind: 'sequence',
  topic: 'user_events',
  key: 'userId',
  steps: [
    { name: 'a', condition: "e.action == 'login'" },
    { name: 'b', condition: "e.action == 'payment'" },
  ],
  within: '10m',
  alertType: 'x',
  level: 'HIGH',
};

function problems(input: unknown): string[] {
  try {
    validateSequenceRule(input);
  } catch (err) {
    expect(err).toBeInstanceOf(RuleValidationError);
    return (err as RuleValidationError).problems.map((p) => p.field);
  }
  return [];
}

describe('sequence rule validation', () => {
  it('accepts the shipped rule as it is stored', () => {
    const { withinMs: _w, ...stored } = defaultSequenceRules[0]!;
    expect(validateSequenceRule(stored)).toEqual(defaultSequenceRules[0]);
  });

  it('names the field at fault', () => {
    expect(problems({ ...base, steps: base.steps.slice(0, 1) })).toEqual(['steps']);
    expect(problems({ ...base, steps: Array(6).fill(base.steps[0]).map((s, i) => ({ ...s, name: `s${i}` })) })).toEqual(['steps']);
    expect(problems({ ...base, within: '25h' })).toEqual(['within']);
    expect(problems({ ...base, within: 'ten minutes' })).toEqual(['within']);
    expect(problems({ ...base, key: 'amount' })).toEqual(['key']);
    expect(problems({ ...base, topic: 'iot_telemetry' })).toEqual(['topic']);
    expect(problems({ ...base, steps: [base.steps[0], { name: 'b', condition: 'e.nope > 1' }] })).toEqual(['steps.1.condition']);
    expect(problems({ ...base, steps: [base.steps[0], { name: 'b', condition: 'x'.repeat(1001) }] })).toEqual(['steps.1.condition']);
    expect(problems({ ...base, steps: [base.steps[0], { ...base.steps[1], name: 'a' }] })).toEqual(['steps.1.name']);
    expect(problems({ ...base, level: 'SEVERE', extra: 1 }).sort()).toEqual(['', 'level'].sort());
  });

  it('reads durations in ms, s, m, h and d, alone or combined', () => {
    expect([parseDuration('10m'), parseDuration('90s'), parseDuration('1h30m'), parseDuration('24h'), parseDuration('250ms')]).toEqual([600_000, 90_000, 5_400_000, 86_400_000, 250]);
    expect([parseDuration(''), parseDuration('10'), parseDuration('m'), parseDuration('1x')]).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('step conditions (CEL)', () => {
  const none = { seen: () => false, seenAny: () => false };

  it('has strings, equality, in, boolean logic and numeric comparisons over the event', () => {
    const c = compileStepCondition("e.action in ['login', 'payment'] && (e.amount >= 10.5 || e.city == 'Oslo') && !(e.ip == '1.2.3.4')", FIELDS);
    expect(c.test({ action: 'login', amount: 11, ip: '5.6.7.8', eventTime: 0 }, none)).toBe(true);
    expect(c.test({ action: 'login', amount: 10, city: 'Oslo', ip: '5.6.7.8', eventTime: 0 }, none)).toBe(true);
    expect(c.test({ action: 'login', amount: 10, city: 'Rome', ip: '5.6.7.8', eventTime: 0 }, none)).toBe(false);
    expect(c.test({ action: 'login', amount: 11, ip: '1.2.3.4', eventTime: 0 }, none)).toBe(false);
    expect(c.test({ action: 'logout', amount: 11, ip: '5.6.7.8', eventTime: 0 }, none)).toBe(false);
  });

  it('is false, not an error, on an event that lacks a field it reads', () => {
    expect(compileStepCondition('e.amount > 500', FIELDS).test({ action: 'login', eventTime: 0 }, none)).toBe(false);
  });

  it('calls the history functions with the literal field and the event time minus D', () => {
    const calls: unknown[] = [];
    const c = compileStepCondition("!seen('deviceId', duration('720h')) && seenAny('ip', duration('1h'))", FIELDS);
    expect(c.history).toEqual([
      { fn: 'seen', field: 'deviceId', withinMs: 2_592_000_000 },
      { fn: 'seenAny', field: 'ip', withinMs: 3_600_000 },
    ]);
    const history = { seen: (...a: unknown[]) => (calls.push(['seen', ...a]), false), seenAny: (...a: unknown[]) => (calls.push(['seenAny', ...a]), true) };
    expect(c.test({ deviceId: 'd', eventTime: 3_600_000 }, history)).toBe(true);
    expect(calls).toEqual([
      ['seen', 'deviceId', 'd', 3_600_000 - 2_592_000_000],
      ['seenAny', 'ip', 0],
    ]);
  });

  it('refuses unknown fields, variables and functions, non-literal history arguments, and non-bool results', () => {
    for (const bad of ['e.foo == 1', 'x == 1', 'exec(1)', "seen(e.deviceId, duration('1h'))", "seen('deviceId', duration('2161h'))", "seenAny('eventTime', duration('1h'))", 'e.amount + 1', 'e.action ==', '']) {
      expect(() => compileStepCondition(bad, FIELDS), bad).toThrow(ConditionError);
    }
  });
});

describe('the README examples', () => {
  it('validate, and the first is the shipped rule', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Sequence rules'), readme.indexOf('## What is promised'));
    const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as unknown);
    expect(blocks).toHaveLength(2);
    const [shippedRule, second] = blocks.map((b) => validateSequenceRule(b));
    const { description: _d, ...shippedWithout } = defaultSequenceRules[0]!;
    expect(shippedRule).toEqual(shippedWithout);
    expect(second!.steps).toHaveLength(4);
  });
});
