/**
 * Which rules fire early (lib/rules/early.ts): derived from the condition and the pipeline's feature
 * directions, never declared. Checked over the grammar, including what must wait for the close, and
 * that each direction a feature claims holds on random windows (the HLL estimate included).
 */
import { describe, expect, it } from 'vitest';
import { builtinPipelines, iot, payments, registrationsPerIp, risk } from '../../lib/pipelines/builtin.ts';
import { exactSum } from '../../lib/pipelines/exact.ts';
import { count, distinct, max, mean, min, sum } from '../../lib/pipelines/features.ts';
import { conditionTiming, ruleTiming, type PipelineFeatures } from '../../lib/rules/early.ts';
import { compileCondition } from '../../lib/rules/expression.ts';
import { defaultRules } from '../../lib/rules/defaults.ts';
import { HyperLogLog } from '../../lib/windows/hll.ts';
import { Random } from '../../local/generator/random.ts';

/** A pipeline of every kind of feature. */
const all: PipelineFeatures = {
  name: 'all',
  features: {
    count: count(),
    users: distinct((e: { u?: string }) => e.u),
    top: max((e: { v?: number }) => e.v),
    low: min((e: { v?: number }) => e.v),
    avg: mean((e: { v?: number }) => e.v),
    signed: sum((e: { v?: number }) => e.v),
    paid: sum((e: { v?: number }) => e.v, { nonNegative: true }),
    exactPaid: exactSum((e: { v?: number }) => e.v, { nonNegative: true }),
    exactSigned: exactSum((e: { v?: number }) => e.v),
  },
};

const timing = (condition: string) => conditionTiming(condition, all);

describe('early-decidable conditions', () => {
  it.each([
    'count > 5',
    'count >= 5',
    '5 < count',
    '5 <= count',
    'users > 1',
    'size(users) > 1',
    'top > 3',
    'low < 3',
    'low <= -3',
    '3 > low',
    'paid > 100',
    'exactPaid >= 100',
    'count > 5 AND low < 3',
    'count > 5 OR top > 3',
    '(count > 5 AND users > 2) OR (low < 0 AND top > 10)',
    'top - low > 10',
    'count + users > 10',
    '-count < -5',
    '2 * count > 10',
    'count / 2 > 10',
    'count * -1 < -10',
    'count > 5 + 3',
    'count - 3 > 2',
    'true',
    'count > 5 AND true',
    'low < top',
  ])('%s fires early', (condition) => {
    const t = timing(condition);
    expect(t.timing, t.reason).toBe('early');
    expect(t.reason).toMatch(/^early: /);
  });

  it.each([
    ['count < 5', /count < 5.*can turn false/],
    ['count <= 5', /can turn false/],
    ['5 > count', /can turn false/],
    ['low > 3', /can turn false/],
    ['top < 3', /can turn false/],
    ['count == 5', /equality/],
    ['count = 5', /equality/],
    ['count != 5', /equality/],
    ['NOT count > 5', /NOT/],
    ['!(low < 3)', /NOT/],
    ['top > 3 OR NOT count > 1', /NOT/],
    ['count > 5 AND count < 10', /can turn false/],
    ['avg > 30', /avg can move either way/],
    ['signed > 100', /signed can move either way/],
    ['exactSigned > 100', /exactSigned can move either way/],
    ['top - count > 1', /grows to one that shrinks/],
    ['count > top', /grows to one that shrinks/],
    ['paid / count > 10', /ratio/],
    ['count * users > 10', /multiplies features/],
    ['count / 0 > 1', /division by zero/],
    ['count * 1e200 > 1', /could overflow/],
    ['(count > 5) == true', /equality/],
  ])('%s is decided at close', (condition, why) => {
    const t = timing(condition);
    expect(t.timing).toBe('close');
    expect(t.reason).toMatch(/^at close: /);
    expect(t.reason).toMatch(why);
  });

  it('names the features read and their direction in the reason', () => {
    expect(timing('count > 5 AND low < 3').reason).toBe('early: the condition can only turn true as events arrive (count never decreases, low never increases)');
  });

  it('decides a rule that raises no alert at close, whatever its condition', () => {
    expect(ruleTiming({ pipeline: 'all', condition: 'count > 5', emitsAlert: false }, [all])).toEqual({
      timing: 'close',
      reason: 'at close: the rule raises no alert (it only sets a level, a verdict on the whole window)',
    });
    expect(ruleTiming({ pipeline: 'all', condition: 'count > 5', emitsAlert: true, alertType: 'x' }, [all]).timing).toBe('early');
    expect(ruleTiming({ pipeline: 'nope', condition: 'count > 5', emitsAlert: true, alertType: 'x' }, [all]).reason).toMatch(/unknown pipeline/);
  });

  it('a condition that does not parse is decided at close, with the parse error', () => {
    expect(timing('count >').reason).toMatch(/^at close: the condition does not parse/);
  });

  it('the default rules: every alerting one fires early, the level-only one at close', () => {
    const t = Object.fromEntries(defaultRules.map((r) => [r.id, ruleTiming(r, builtinPipelines).timing]));
    expect(t).toEqual({
      'risk-high': 'early',
      'risk-medium': 'early',
      'risk-low': 'close',
      'registrations-suspicious-ip': 'early',
      'payments-spree': 'early',
      // A rejected reading only adds to the count: "rejected > 3" can only turn true.
      'iot-sensor-out-of-range': 'early',
    });
  });

  it('the built-in features: payments amount is a signed sum (refunds), iot averages move either way', () => {
    expect(conditionTiming('amount > 1000', payments).timing).toBe('close');
    expect(conditionTiming('count > 10', payments).timing).toBe('early');
    expect(conditionTiming('devices > 1 AND cities > 1', risk).timing).toBe('early');
    expect(conditionTiming('users > 3', registrationsPerIp).timing).toBe('early');
    expect(conditionTiming('temperatureAvg > 40', iot).timing).toBe('close');
    expect(conditionTiming('temperatureMax > 90 OR temperatureMin < -30', iot).timing).toBe('early');
    expect(conditionTiming('rejected >= 1', iot).timing).toBe('early');
  });
});

describe('feature directions hold', () => {
  it('a non-negative sum refuses a negative value (a record fault: the record is quarantined)', () => {
    const [slot] = sum((e: { v: number }) => e.v, { nonNegative: true }).slots('paid');
    expect(slot!.value({ v: 2 })).toBe(2);
    expect(() => slot!.value({ v: -1 })).toThrow(RangeError);
    const [exact] = exactSum((e: { v: number }) => e.v, { nonNegative: true }).slots('paid');
    expect(exact!.value({ v: 1.5 })).toBe(1_500_000);
    expect(() => exact!.value({ v: -0.5 })).toThrow(/declared nonNegative/);
  });

  it('an approximate distinct count never falls as values are added (the sketch estimate is monotone)', () => {
    // Registers only rise and the estimator grows with each: checked on random streams past the cap.
    for (const seed of [1, 2, 3]) {
      const random = new Random(seed);
      const sketch = HyperLogLog.empty();
      let previous = 0;
      for (let i = 0; i < 30_000; i++) {
        sketch.add(`v${random.int(0, 1_000_000_000)}`);
        if (i % 97 !== 0) continue;
        const estimate = sketch.estimate();
        expect(estimate).toBeGreaterThanOrEqual(previous);
        previous = estimate;
      }
    }
  });

  it('an early condition that holds keeps holding as a window grows (random windows of the iot features)', () => {
    const conditions = ['temperatureMax > 50', 'temperatureMin < 0', 'count > 3 AND temperatureMax - temperatureMin > 40', 'rejected > 1 OR count >= 5'];
    for (const c of conditions) expect(conditionTiming(c, iot).timing).toBe('early');
    const compiled = conditions.map((c) => compileCondition(c));
    const random = new Random(7);
    for (let w = 0; w < 200; w++) {
      const held = compiled.map(() => false);
      const readings: number[] = [];
      let rejected = 0;
      for (let i = 0; i < 12; i++) {
        const t = random.int(-60, 120);
        if (t < -40 || t > 100) rejected++;
        else readings.push(t);
        const features = {
          count: readings.length,
          rejected,
          temperatureMax: readings.length ? Math.max(...readings) : null,
          temperatureMin: readings.length ? Math.min(...readings) : null,
        };
        compiled.forEach((c, k) => {
          const now = c.test(features);
          if (held[k]) expect(now, `${conditions[k]} turned false`).toBe(true);
          held[k] = now;
        });
      }
    }
  });
});
