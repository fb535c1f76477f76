/** npm start's scenario summary: sequence scenarios matched to alerts by rule and key, near misses counted apart. */
import { describe, expect, it } from 'vitest';
import { alertIsFor } from '../../local/generator/alerted.ts';
import { generate } from '../../local/generator/generate.ts';
import { scenarioSummaryLines } from '../../local/commands/scenario-summary.ts';

const { scenarios } = generate({ events: 5000, seed: 11 });
const ato = scenarios.find((s) => s.kind === 'account_takeover')!;
const window = scenarios.find((s) => s.kind === 'payment_spree')!;

describe('alertIsFor', () => {
  it('matches a sequence scenario by rule and key, whatever chain the engine reports', () => {
    const alert = { pipeline: 'sequence', rule: 'new-device-payment', key: ato.key, windowStart: ato.windowStart - 1, windowEnd: ato.windowStart };
    expect(alertIsFor(ato, alert)).toBe(true);
    expect(alertIsFor(ato, { ...alert, rule: 'another' })).toBe(false);
    expect(alertIsFor(ato, { ...alert, key: `${ato.key}0` })).toBe(false);
  });
  it('matches a window scenario by pipeline, key and an overlapping window', () => {
    const alert = { pipeline: window.pipeline, rule: 'payments-spree', key: window.key, windowStart: window.windowStart, windowEnd: window.windowEnd };
    expect(alertIsFor(window, alert)).toBe(true);
    const size = window.windowEnd - window.windowStart;
    expect(alertIsFor(window, { ...alert, windowStart: window.windowEnd, windowEnd: window.windowEnd + size })).toBe(false);
  });
});

describe('scenarioSummaryLines', () => {
  it('reports the account takeover alerted and the near misses not alerted, as expected', () => {
    const outcome = scenarios.map((s) => ({ ...s, alerted: s.expectAlert !== false }));
    const { lines, expected, missed } = scenarioSummaryLines(outcome);
    expect(missed).toEqual([]);
    // Five window kinds, the straddling burst of the hopping registrations, and the takeover.
    expect(expected).toHaveLength(7);
    expect(lines).toEqual([
      '  account_takeover: alerted 1/1 (rule new-device-payment, by rule and key)',
      `  near misses not alerted 5/5 (as expected): ${[...new Set(scenarios.filter((s) => s.expectAlert === false).map((s) => s.kind))].join(', ')}`,
    ]);
  });
  it('names a near miss that alerted, and counts a takeover that did not as missed', () => {
    const outcome = scenarios.map((s) => ({ ...s, alerted: s.kind === 'ato_payment_of_500' || (s.expectAlert !== false && s.kind !== 'account_takeover') }));
    const { lines, missed } = scenarioSummaryLines(outcome);
    expect(missed.map((s) => s.kind)).toEqual(['account_takeover']);
    expect(lines[0]).toBe('  account_takeover: alerted 0/1 (rule new-device-payment, by rule and key)');
    expect(lines[1]).toMatch(/^ {2}near misses not alerted 4\/5: /);
    expect(lines[2]).toMatch(/^ {2}alerted although a near miss: ato_payment_of_500 key=900420000/);
  });
});
