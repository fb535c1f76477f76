/** compare and formatComparison on small hand-built inputs: what counts as a difference, and what does not. */
import { describe, expect, it } from 'vitest';
import { compare, sameFeature } from '../../local/verify/compare.ts';
import { earlyChecks } from '../../local/verify/early-checks.ts';
import { formatComparison } from '../../local/verify/report.ts';
import type { SystemState, SystemWindow } from '../../local/verify/system-state.ts';

type Reference = Parameters<typeof compare>[0];

const T = 1795428000000;
const H = 3_600_000;

function reference(): Reference {
  return {
    windows: [
      { pipeline: 'payments', key: '7', windowStart: T, windowEnd: T + 300_000, closed: true, features: { count: 12, amount: 0.1 + 0.2 } },
      { pipeline: 'risk', key: '7', windowStart: T, windowEnd: T + H, closed: true, features: { events: 14, devices: ['a', 'b'], cities: ['Berlin', 'Lagos'], logins: 2 } },
      { pipeline: 'iot', key: 's-1', windowStart: T, windowEnd: T + 60_000, closed: true, features: { count: 0, rejected: 3, temperatureAvg: null } },
    ],
    alerts: [
      { pipeline: 'payments', key: '7', windowStart: T, ruleId: 'payments-spree', level: null, alertType: 'payment_spree' },
      { pipeline: 'risk', key: '7', windowStart: T, ruleId: 'risk-level', level: 'HIGH', alertType: 'account_risk' },
    ],
    counts: { records: 20, valid: 17, quarantined: 1, late: { payments: 1, risk: 1 }, lateRecords: 1 },
    quarantinedOffsets: [{ topic: 'user_events', partition: 0, offset: 5 }],
    lateEvents: [
      { topic: 'user_events', partition: 1, offset: 9, pipeline: 'payments' },
      { topic: 'user_events', partition: 1, offset: 9, pipeline: 'risk' },
    ],
    // Sequence alerts have their own tests (verify-sequences.test.ts); none here.
    sequenceMatches: [],
    sequenceSteps: [],
    sequenceLate: [],
  };
}

/** The system state a correct run would store for reference(). */
function system(): SystemState {
  const ref = reference();
  return {
    windows: ref.windows.map((w) => ({ ...w, closed: true, features: { ...w.features } as SystemWindow['features'] })),
    alerts: ref.alerts.map((a, i) => ({ id: `alert-${i}`, pipeline: a.pipeline, key: a.key, windowStart: a.windowStart, ruleId: a.ruleId, level: a.level, alertType: a.alertType })),
    quarantined: ref.quarantinedOffsets.map((q) => ({ ...q })),
    late: ref.lateEvents.map((l) => ({ ...l })),
  };
}

const kafkaOf = (s: SystemState) => s.alerts.map((a) => ({ id: a.id, pipeline: a.pipeline, key: a.key, windowStart: a.windowStart, rule: a.ruleId }));

describe('compare', () => {
  it('finds nothing to report when the system matches the reference', () => {
    const c = compare(reference(), system(), kafkaOf(system()));
    expect(c.ok).toBe(true);
    expect(c.differences).toBe(0);
    expect(c.windows).toEqual({ compared: 3, matching: 3, differing: 0, missing: 0, extra: 0, notClosed: 0, closedEarly: 0 });
    expect(c.events).toMatchObject({ lost: 0, doubleCounted: 0 });
    expect(c.alerts).toMatchObject({ expected: 2, raised: 2, missing: 0, extra: 0, duplicated: 0, levelMismatches: 0 });
    expect(c.quarantine).toEqual({ expected: 1, stored: 1, missing: 0, extra: 0 });
    expect(c.late).toEqual({ expected: 2, stored: 2, missing: 0, extra: 0 });
    expect(c.examples).toEqual({});
  });

  it('compares events late for sequence rules with the late side records naming sequence, apart from the windows\' late records', () => {
    const ref = { ...reference(), sequenceLate: [{ topic: 'user_events', partition: 2, offset: 7 }] };
    const sequenceLate = { topic: 'user_events', partition: 2, offset: 7, pipeline: 'sequence' };
    const matching = compare(ref, { ...system(), late: [...system().late, sequenceLate] }, kafkaOf(system()));
    expect(matching.ok).toBe(true);
    expect(matching.sequences.late).toEqual({ expected: 1, stored: 1, missing: 0, extra: 0 });
    expect(matching.late).toEqual({ expected: 2, stored: 2, missing: 0, extra: 0 });
    const missing = compare(ref, system(), kafkaOf(system()));
    expect(missing.differences).toBe(1);
    expect(missing.examples.sequenceLateMissing).toHaveLength(1);
    const extra = compare(reference(), { ...system(), late: [...system().late, sequenceLate] }, kafkaOf(system()));
    expect(extra.differences).toBe(1);
    expect(extra.examples.sequenceLateExtra).toHaveLength(1);
  });

  it('reports a double-counted window as one differing window and one double-counted event', () => {
    const s = system();
    s.windows[0]!.features.count = 13;
    const c = compare(reference(), s);
    expect(c.ok).toBe(false);
    expect(c.differences).toBe(1);
    expect(c.windows).toMatchObject({ differing: 1, matching: 2 });
    expect(c.events).toMatchObject({ lost: 0, doubleCounted: 1 });
    expect(c.events.byPipeline.payments).toEqual({ lost: 0, doubleCounted: 1 });
    expect(c.examples.windowsDiffering).toEqual([{ window: `payments|7|${T}`, feature: 'count', expected: 12, actual: 13 }]);
  });

  it('counts every event of a missing window as lost, and of an extra window as double counted', () => {
    const s = system();
    s.windows = s.windows.filter((w) => w.pipeline !== 'risk');
    s.windows.push({ pipeline: 'registrations', key: '10.0.0.1', windowStart: T, windowEnd: T + 600_000, closed: true, features: { registrations: 4, users: ['1'] } });
    const c = compare(reference(), s);
    expect(c.windows).toMatchObject({ compared: 4, missing: 1, extra: 1, matching: 2 });
    expect(c.events).toMatchObject({ lost: 14, doubleCounted: 4 });
    expect(c.examples.windowsMissing).toEqual([{ window: `risk|7|${T}`, events: 14 }]);
    expect(c.differences).toBe(2);
  });

  it('counts rejected iot readings as events', () => {
    const s = system();
    s.windows[2]!.features.rejected = 1;
    expect(compare(reference(), s).events.byPipeline.iot).toEqual({ lost: 2, doubleCounted: 0 });
  });

  it('reports a second alert record for the same (pipeline, key, window, rule) as duplicated', () => {
    const s = system();
    s.alerts.push({ ...s.alerts[0]!, id: 'alert-other' });
    const c = compare(reference(), s);
    expect(c.alerts).toMatchObject({ expected: 2, raised: 3, duplicated: 1, missing: 0, extra: 0 });
    expect(c.examples.alertsDuplicated).toEqual([{ alert: `payments|7|${T}|payments-spree`, records: 2, ids: ['alert-0', 'alert-other'] }]);
    expect(c.differences).toBe(1);
  });

  it('reports missing, extra and level-mismatched alerts', () => {
    const s = system();
    s.alerts[1]!.level = 'LOW';
    s.alerts[0]!.ruleId = 'other-rule';
    const c = compare(reference(), s);
    expect(c.alerts).toMatchObject({ missing: 1, extra: 1, levelMismatches: 1 });
    expect(c.examples.alertsLevelMismatch).toEqual([{ alert: `risk|7|${T}|risk-level`, expected: 'HIGH', actual: 'LOW' }]);
    expect(c.differences).toBe(3);
  });

  it('reports an extra quarantined record and a missing late one by coordinates', () => {
    const s = system();
    s.quarantined.push({ topic: 'iot_telemetry', partition: 2, offset: 77 });
    s.late = s.late.filter((l) => l.pipeline !== 'risk');
    const c = compare(reference(), s);
    expect(c.quarantine).toEqual({ expected: 1, stored: 2, missing: 0, extra: 1 });
    expect(c.late).toEqual({ expected: 2, stored: 1, missing: 1, extra: 0 });
    expect(c.examples.quarantineExtra).toEqual([{ record: 'iot_telemetry-2@77' }]);
    expect(c.examples.lateMissing).toEqual([{ record: 'user_events-1@9', pipeline: 'risk' }]);
    expect(c.differences).toBe(2);
  });

  it('treats float sums that differ by 1e-12 as equal, and distinct sets in any order as equal', () => {
    const s = system();
    s.windows[0]!.features.amount = 0.3 + 1e-12;
    s.windows[1]!.features.devices = ['b', 'a'];
    expect(compare(reference(), s).ok).toBe(true);
    expect(sameFeature(1e12, 1e12 + 0.5)).toBe(true); // relative tolerance
    expect(sameFeature(0.3, 0.30001)).toBe(false);
    expect(sameFeature(null, 0)).toBe(false);
    expect(sameFeature(['a'], ['a', 'b'])).toBe(false);
  });

  it('reports a feature present on one side only', () => {
    const s = system();
    delete s.windows[2]!.features.temperatureAvg;
    expect(compare(reference(), s).examples.windowsDiffering).toEqual([{ window: `iot|s-1|${T}`, feature: 'temperatureAvg', expected: null, actual: '(absent)' }]);
  });

  it('counts windows left open as differences unless told not to', () => {
    const s = system();
    s.windows[1]!.closed = false;
    expect(compare(reference(), s)).toMatchObject({ ok: false, differences: 1, windows: { notClosed: 1, matching: 3 } });
    expect(compare(reference(), s, undefined, { notClosedIsDifference: false })).toMatchObject({ ok: true, windows: { notClosed: 1 } });
  });

  it('counts a window closed before the final watermark passed it as a difference, and one left open then as none', () => {
    const r = reference();
    r.windows[1]!.closed = false;
    expect(compare(r, system())).toMatchObject({ ok: false, differences: 1, windows: { closedEarly: 1, notClosed: 0 } });
    const s = system();
    s.windows[1]!.closed = false;
    expect(compare(r, s)).toMatchObject({ ok: true, windows: { closedEarly: 0, notClosed: 0 } });
  });

  it('reports Kafka redeliveries without counting them as differences, and alerts missing on Kafka as differences', () => {
    const s = system();
    const c = compare(reference(), s, { alerts: kafkaOf(s), messages: 5 });
    expect(c.ok).toBe(true);
    expect(c.alerts.kafka).toEqual({ unique: 2, messages: 5, redelivered: 3, missing: 0, extra: 0 });

    const partial = compare(reference(), s, { alerts: kafkaOf(s).slice(1), messages: 1 });
    expect(partial.alerts.kafka).toMatchObject({ unique: 1, missing: 1, extra: 0, redelivered: 0 });
    expect(partial.differences).toBe(1);
    expect(partial.examples.alertsMissingOnKafka).toEqual([{ id: 'alert-0', alert: `payments|7|${T}|payments-spree` }]);

    // A bare array: no redelivery is known; an id on the topic without a record is a difference.
    const stray = { id: 'stray', pipeline: 'risk', key: '9', windowStart: T, rule: 'risk-level' };
    const c2 = compare(reference(), s, [...kafkaOf(s), stray]);
    expect(c2.alerts.kafka).toEqual({ unique: 3, messages: 3, redelivered: 0, missing: 0, extra: 1 });
    expect(c2.differences).toBe(1);
  });

  it('keeps at most 10 examples per kind but counts them all', () => {
    const s = system();
    for (let i = 0; i < 25; i++) s.quarantined.push({ topic: 'user_events', partition: 3, offset: 100 + i });
    const c = compare(reference(), s);
    expect(c.quarantine.extra).toBe(25);
    expect(c.examples.quarantineExtra).toHaveLength(10);
  });
});

describe('compare: early alerts', () => {
  /** The system with its payments alert raised early on `features`, and every record completed at close. */
  function withEarly(features: Record<string, unknown>): SystemState {
    const s = system();
    for (const a of s.alerts) a.finalFeatures = {};
    Object.assign(s.alerts[0]!, { ruleId: 'payments-spree', timing: 'early', features });
    return s;
  }

  it('accepts an early alert whose firing features match its rule and lie below the final ones', () => {
    const c = compare(reference(), withEarly({ count: 11, amount: 0.2 }), undefined, { early: earlyChecks() });
    expect(c.alerts.early).toEqual({ raised: 1, notMatching: 0, outOfRange: 0, withoutFinal: 0 });
    expect(c.differences).toBe(0);
  });

  it('reports firing features the rule does not hold on, and features past the final value', () => {
    const notMatching = compare(reference(), withEarly({ count: 9, amount: 0 }), undefined, { early: earlyChecks() });
    expect(notMatching.alerts.early).toMatchObject({ notMatching: 1, outOfRange: 0 });
    expect(notMatching.differences).toBe(1);
    // 13 payments when the window ended with 12: a count that went down is no early alert.
    const above = compare(reference(), withEarly({ count: 13, amount: 0.1 }), undefined, { early: earlyChecks() });
    expect(above.alerts.early).toMatchObject({ notMatching: 0, outOfRange: 1 });
    expect(above.examples.earlyAlertsOutOfRange).toEqual([{ alert: 'payments|7|1795428000000|payments-spree', feature: 'count', direction: 'up', problem: '13 is above the final 12' }]);
    expect(formatComparison(above)).toMatch(/early alerts with features outside \[empty window, final\]: 1/);
  });

  it('checks a distinct sample against the final set, and a minimum against the final minimum', () => {
    const ref = reference();
    const risk = ref.windows[1]!;
    const s = system();
    s.alerts[1] = { ...s.alerts[1]!, ruleId: 'risk-high', timing: 'early', finalFeatures: {}, features: { devices: { count: 2, approximate: false, sample: ['a', 'z'] }, cities: { count: 2, approximate: false, sample: ['Berlin', 'Lagos'] } } };
    ref.alerts[1] = { ...ref.alerts[1]!, ruleId: 'risk-high' };
    s.alerts[0]!.finalFeatures = {};
    const c = compare(ref, s, undefined, { early: earlyChecks() });
    expect(c.examples.earlyAlertsOutOfRange).toEqual([{ alert: `risk|7|${risk.windowStart}|risk-high`, feature: 'devices', direction: 'up', problem: 'its sample holds "z", which the final window does not' }]);
    const checks = earlyChecks();
    expect(checks.features.iot).toMatchObject({ temperatureMin: { direction: 'down', empty: null }, count: { direction: 'up', empty: 0 } });
    expect(checks.features.iot!.temperatureAvg).toBeUndefined();
  });

  it('reports an alert record of a closed window that the closer did not complete', () => {
    const s = system();
    s.alerts[0]!.finalFeatures = {};
    const c = compare(reference(), s, undefined, { early: earlyChecks() });
    expect(c.alerts.early).toEqual({ raised: 0, notMatching: 0, outOfRange: 0, withoutFinal: 1 });
    expect(c.differences).toBe(1);
  });
});

describe('compare: hopping pipelines (registrations, 10 minutes every minute)', () => {
  const M = 60_000;
  const IP = '10.0.0.9';
  const RULE = 'registrations-suspicious-ip';
  const G = T; // a 10-minute boundary
  const users = (n: number) => Array.from({ length: n }, (_, i) => `u${String(i).padStart(2, '0')}`);

  /**
   * 25 sign-ups, 5 in each bucket from G-3m to G+1m: every window starting G-8m..G-3m holds the
   * five buckets (25 > 20, matching), the ones after fewer. One group (G-10m), its earliest
   * matching window G-8m; the buckets and windows all closed.
   */
  function hoppingReference(): Reference {
    const bucketStarts = [-3, -2, -1, 0, 1].map((k) => G + k * M);
    const windows = bucketStarts.map((b, i) => ({
      pipeline: 'registrations', key: IP, windowStart: b, windowEnd: b + M, closed: true, sealed: true, bucketOf: { sizeMs: 10 * M, advanceMs: M },
      features: { registrations: 5, users: users(25).slice(5 * i, 5 * i + 5) },
    }));
    const hoppingWindows = [];
    for (let start = G - 12 * M; start <= G + M; start += M) {
      const held = bucketStarts.map((b, i) => (b >= start && b < start + 10 * M ? i : -1)).filter((i) => i >= 0);
      if (held.length === 0) continue;
      const u = held.flatMap((i) => users(25).slice(5 * i, 5 * i + 5));
      hoppingWindows.push({ pipeline: 'registrations', key: IP, windowStart: start, windowEnd: start + 10 * M, closed: true, features: { registrations: u.length, users: u } });
    }
    const matching = hoppingWindows.filter((w) => w.features.registrations > 20).map((w) => w.windowStart);
    return {
      windows,
      hoppingWindows,
      alerts: [{ pipeline: 'registrations', key: IP, windowStart: matching[0]!, groupStart: G - 10 * M, matchingWindows: matching, ruleId: RULE, level: null, alertType: 'suspicious_ip' }],
      alertGroups: { [RULE]: { pipeline: 'registrations', cooldownMs: 10 * M } },
      counts: { records: 25, valid: 25, quarantined: 0, late: {}, lateRecords: 0 },
      quarantinedOffsets: [],
      lateEvents: [],
      sequenceMatches: [],
      sequenceSteps: [],
      sequenceLate: [],
    };
  }

  const summary = (n: number) => ({ registrations: n, users: { count: n, approximate: false, sample: users(n).slice(0, 20) } });

  /** What the engine should store: the buckets, and one alert recorded at close by the earliest matching window. */
  function hoppingSystem(): SystemState {
    const ref = hoppingReference();
    return {
      windows: ref.windows.map((w) => ({ pipeline: w.pipeline, key: w.key, windowStart: w.windowStart, windowEnd: w.windowEnd, closed: true, features: { ...w.features } as SystemWindow['features'] })),
      alerts: [{ id: 'registrations-g', pipeline: 'registrations', key: IP, windowStart: G - 8 * M, windowEnd: G + 2 * M, ruleId: RULE, level: null, alertType: 'suspicious_ip', timing: 'close', features: summary(25), finalFeatures: summary(25) }],
      quarantined: [],
      late: [],
    };
  }

  it('matches buckets as windows and the alert by its group, its window and its final features', () => {
    const ref = hoppingReference();
    expect(ref.alerts[0]!.matchingWindows).toEqual([-8, -7, -6, -5, -4, -3].map((k) => G + k * M));
    const c = compare(ref, hoppingSystem(), undefined, { early: earlyChecks() });
    expect(c.examples).toEqual({});
    expect(c.ok).toBe(true);
    expect(c.windows).toMatchObject({ compared: 5, matching: 5 });
    expect(c.alerts).toMatchObject({ expected: 1, raised: 1, missing: 0, extra: 0, duplicated: 0, windowNotMatching: 0, notEarliest: 0, finalFeaturesDiffering: 0 });
  });

  it('counts a second record of the same group as a duplicate, whatever its window, and a group with no record as missing', () => {
    const s = hoppingSystem();
    s.alerts.push({ ...s.alerts[0]!, id: 'registrations-w', windowStart: G - 5 * M, windowEnd: G + 5 * M });
    const c = compare(hoppingReference(), s);
    expect(c.alerts).toMatchObject({ duplicated: 1, missing: 0, extra: 0 });
    expect(c.examples.alertsDuplicated).toEqual([{ alert: `registrations|${IP}|${G - 10 * M}|${RULE}`, records: 2, ids: ['registrations-g', 'registrations-w'] }]);
    const none = hoppingSystem();
    none.alerts = [];
    expect(compare(hoppingReference(), none).alerts).toMatchObject({ missing: 1 });
    // A record in the next group, where no window matches: extra.
    const next = hoppingSystem();
    next.alerts[0] = { ...next.alerts[0]!, windowStart: G, windowEnd: G + 10 * M };
    expect(compare(hoppingReference(), next).alerts).toMatchObject({ missing: 1, extra: 1 });
  });

  it('reports a record whose window is not a matching window of its group, or (at close) not the earliest', () => {
    const s = hoppingSystem();
    // G-9m..G+1m holds four buckets (20 sign-ups): in the group, but it does not match.
    s.alerts[0] = { ...s.alerts[0]!, windowStart: G - 9 * M, windowEnd: G + M };
    const c = compare(hoppingReference(), s);
    expect(c.alerts).toMatchObject({ windowNotMatching: 1, missing: 0, extra: 0 });
    expect(c.differences).toBe(1);
    // A matching window, but a wrong end.
    s.alerts[0] = { ...s.alerts[0]!, windowStart: G - 8 * M, windowEnd: G + 3 * M };
    expect(compare(hoppingReference(), s).alerts.windowNotMatching).toBe(1);
    // A later matching window recorded it at close: the earliest closes first, so it should have.
    s.alerts[0] = { ...s.alerts[0]!, windowStart: G - 6 * M, windowEnd: G + 4 * M };
    const late = compare(hoppingReference(), s);
    expect(late.alerts).toMatchObject({ notEarliest: 1, windowNotMatching: 0 });
    expect(late.examples.alertsNotEarliest).toEqual([{ alert: `registrations|${IP}|${G - 10 * M}|${RULE}`, id: 'registrations-g', windowStart: G - 6 * M, earliest: G - 8 * M }]);
    expect(formatComparison(late)).toMatch(/alerts raised at close by a later than the earliest matching window: 1/);
    // Raised early by that window, it is right: any matching window may fire first.
    s.alerts[0] = { ...s.alerts[0]!, timing: 'early', features: summary(21) };
    const early = compare(hoppingReference(), s, undefined, { early: earlyChecks() });
    expect(early.ok).toBe(true);
    expect(early.alerts.early).toEqual({ raised: 1, notMatching: 0, outOfRange: 0, withoutFinal: 0 });
  });

  it("checks final features against the reference's features of the record's window, and early ones against that window", () => {
    const s = hoppingSystem();
    s.alerts[0]!.finalFeatures = summary(24);
    const c = compare(hoppingReference(), s);
    expect(c.alerts.finalFeaturesDiffering).toBe(1);
    expect(c.examples.alertsFinalFeaturesDiffering?.[0]).toMatchObject({ feature: 'registrations', expected: 25, actual: '24' });
    // A sample value the window does not hold.
    s.alerts[0]!.finalFeatures = { registrations: 25, users: { count: 25, approximate: false, sample: ['stranger'] } };
    expect(compare(hoppingReference(), s).alerts.finalFeaturesDiffering).toBe(1);
    // Early, on 26 sign-ups when its window ended with 25: out of range; and without final features once the window closed.
    const e = hoppingSystem();
    e.alerts[0] = { ...e.alerts[0]!, timing: 'early', features: summary(26) };
    delete e.alerts[0]!.finalFeatures;
    const early = compare(hoppingReference(), e, undefined, { early: earlyChecks() });
    expect(early.alerts.early).toMatchObject({ raised: 1, outOfRange: 1, withoutFinal: 1 });
  });

  it('lets a bucket close from its own end, and holds it to closing once its last window has', () => {
    const ref = hoppingReference();
    // The last bucket: sealed (its end passed), its last window not yet closed.
    Object.assign(ref.windows[4]!, { closed: false, sealed: true });
    const s = hoppingSystem();
    expect(compare(ref, s).windows).toMatchObject({ notClosed: 0, closedEarly: 0 });
    s.windows[4]!.closed = false;
    expect(compare(ref, s).windows).toMatchObject({ notClosed: 0, closedEarly: 0 });
    // Not sealed: it could still take an event, so closing it is closing early.
    Object.assign(ref.windows[4]!, { sealed: false });
    s.windows[4]!.closed = true;
    expect(compare(ref, s).windows).toMatchObject({ closedEarly: 1 });
    // Every window holding it closed, the bucket still open: not closed.
    const open = hoppingSystem();
    open.windows[0]!.closed = false;
    expect(compare(hoppingReference(), open).windows).toMatchObject({ notClosed: 1 });
  });
});

describe('formatComparison', () => {
  it('ends with RESULT: OK when nothing differs, and lists the faults injected', () => {
    const text = formatComparison(compare(reference(), system(), { alerts: kafkaOf(system()), messages: 4 }), {
      faults: { 'throttle': 12, 'lambda-crash': 3 },
      meta: { events: 20, seed: 42 },
    });
    expect(text.split('\n').at(-1)).toBe('RESULT: OK (0 differences)');
    expect(text).toMatch(/^ {2}throttle +12$/m);
    expect(text).toMatch(/^ {2}lambda-crash +3$/m);
    expect(text).toMatch(/^ {2}Kafka redelivered messages +2 {2}at-least-once: not a difference$/m);
    expect(text).toMatch(/^ {2}seed +42$/m);
    // Columns align: every counter row puts its value in the same column.
    const rows = text.split('\n').filter((l) => /^ {2}\S.* \d+$/.test(l));
    expect(new Set(rows.map((l) => l.length)).size).toBe(1);
    expect(text).not.toMatch(/\u001b\[/);
  });

  it('ends with RESULT: FAILED and shows examples of each difference', () => {
    const s = system();
    s.windows[0]!.features.count = 13;
    s.quarantined = [];
    const text = formatComparison(compare(reference(), s), {});
    expect(text.split('\n').at(-1)).toBe('RESULT: FAILED (2 differences)');
    expect(text).toContain(`window=payments|7|${T} feature=count expected=12 actual=13`);
    expect(text).toContain('record=user_events-0@5');
    expect(text).toMatch(/^ {2}double counted +1$/m);
  });
});
