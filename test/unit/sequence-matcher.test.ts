/**
 * The sequence matcher (lib/sequences/matcher.ts) on the shipped rule and on a three-step rule:
 * the pattern fires, near misses do not, out-of-order and two-partition arrivals match in ORDER,
 * redelivery adds nothing, and every buffer keeps to its cap.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { sequenceAlertId, sequenceAlertOf } from '../../lib/sequences/alert.ts';
import { SequenceCompiler, type SequenceGroup } from '../../lib/sequences/compile.ts';
import { defaultSequenceRules } from '../../lib/sequences/defaults.ts';
import { expiresAt, matchSequences, type SequenceInput, type SequenceMatch } from '../../lib/sequences/matcher.ts';
import { validateSequenceRule } from '../../lib/sequences/rule.ts';
import { emptyKeyState, SEQUENCE_LIMITS, type KeyState } from '../../lib/sequences/state.ts';

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);
const DELAY = 10 * MIN;

const compiler = new SequenceCompiler();
const shipped: SequenceGroup = compiler.groups(defaultSequenceRules, 'user_events')[0]!;

let offsets = new Map<number, number>();
/** A user_events event on a partition, at the next offset of that partition unless given. */
function ev(t: number, action: string, fields: { deviceId?: string; amount?: number; partition?: number; offset?: number } = {}): SequenceInput {
  const partition = fields.partition ?? 0;
  const offset = fields.offset ?? (offsets.get(partition) ?? -1) + 1;
  offsets.set(partition, Math.max(offset, offsets.get(partition) ?? -1));
  const event: Record<string, string | number> = { userId: 'u1', action, eventTime: t };
  if (fields.deviceId !== undefined) event.deviceId = fields.deviceId;
  if (fields.amount !== undefined) event.amount = fields.amount;
  return { event: event as SequenceInput['event'], partition, offset };
}

/** Feeds batches one after the other; every match, in order. */
function run(group: SequenceGroup, batches: SequenceInput[][], start: KeyState = emptyKeyState()): { state: KeyState; matches: SequenceMatch[] } {
  let state = start;
  const matches: SequenceMatch[] = [];
  for (const batch of batches) {
    const out = matchSequences(group, state, batch, { delayMs: DELAY });
    state = out.state;
    matches.push(...out.matches);
  }
  return { state, matches };
}

/** The takeover pattern: an old device 5 days back, a new one now, a payment `gap` later. */
function takeover(gap: number, amount = 600, priorAgo = 5 * DAY): SequenceInput[] {
  return [ev(T0 - priorAgo, 'login', { deviceId: 'old' }), ev(T0, 'login', { deviceId: 'new' }), ev(T0 + gap, 'payment', { amount })];
}

describe('the shipped rule new-device-payment', () => {
  beforeEachReset();

  it('fires for a new-device login then a payment above 500 within 10 minutes, with the chain', () => {
    const { matches } = run(shipped, [takeover(5 * MIN)]);
    expect(matches).toHaveLength(1);
    expect(matches[0]!.chain).toEqual([
      { t: T0, p: 0, o: 1 },
      { t: T0 + 5 * MIN, p: 0, o: 2 },
    ]);
    const alert = sequenceAlertOf(matches[0]!, 'user_events', 'u1', 123);
    expect(alert).toMatchObject({ id: sequenceAlertId('new-device-payment', 'u1', 'user_events', 0, 2), pipeline: 'sequence', rule: 'new-device-payment', alertType: 'account_takeover', level: 'HIGH', windowStart: T0, windowEnd: T0 + 5 * MIN, timing: 'early' });
    expect(alert.matched).toEqual([
      { step: 'login', partition: 0, offset: 1, eventTime: T0 },
      { step: 'payment', partition: 0, offset: 2, eventTime: T0 + 5 * MIN },
    ]);
  });

  it('fires at exactly 10 minutes (inclusive) and not at 10 minutes 1 second, nor at 601 s', () => {
    expect(run(shipped, [takeover(10 * MIN)]).matches).toHaveLength(1);
    offsets = new Map();
    expect(run(shipped, [takeover(10 * MIN + 1000)]).matches).toHaveLength(0);
    offsets = new Map();
    expect(run(shipped, [takeover(601_000)]).matches).toHaveLength(0);
  });

  it('does not fire for a payment of exactly 500, or one without an amount', () => {
    expect(run(shipped, [takeover(MIN, 500)]).matches).toHaveLength(0);
    offsets = new Map();
    expect(run(shipped, [[ev(T0 - DAY, 'login', { deviceId: 'old' }), ev(T0, 'login', { deviceId: 'new' }), ev(T0 + MIN, 'payment')]]).matches).toHaveLength(0);
  });

  it('does not fire when the device was seen 29 days earlier', () => {
    const batch = [ev(T0 - 29 * DAY, 'login', { deviceId: 'new' }), ev(T0 - DAY, 'login', { deviceId: 'old' }), ev(T0, 'login', { deviceId: 'new' }), ev(T0 + MIN, 'payment', { amount: 900 })];
    expect(run(shipped, [batch]).matches).toHaveLength(0);
  });

  it('fires when the device was last seen 31 days earlier (a payment or any action counts as seen)', () => {
    const batch = [ev(T0 - 31 * DAY, 'payment', { deviceId: 'new', amount: 10 }), ev(T0 - DAY, 'login', { deviceId: 'old' }), ev(T0, 'login', { deviceId: 'new' }), ev(T0 + MIN, 'payment', { amount: 900 })];
    expect(run(shipped, [batch]).matches).toHaveLength(1);
  });

  it('does not fire for a payment before the login', () => {
    const batch = [ev(T0 - DAY, 'login', { deviceId: 'old' }), ev(T0, 'payment', { amount: 900 }), ev(T0 + MIN, 'login', { deviceId: 'new' })];
    expect(run(shipped, [batch]).matches).toHaveLength(0);
  });

  it("does not fire for the user's first device ever, nor when the only other device is older than 30 days", () => {
    expect(run(shipped, [[ev(T0, 'login', { deviceId: 'first' }), ev(T0 + MIN, 'payment', { amount: 900 })]]).matches).toHaveLength(0);
    offsets = new Map();
    expect(run(shipped, [takeover(MIN, 900, 31 * DAY)]).matches).toHaveLength(0);
  });

  it('fires once per completing payment: two payments after one login are two alerts, chained to the latest login', () => {
    const batch = [...takeover(MIN), ev(T0 + 2 * MIN, 'login', { deviceId: 'newer' }), ev(T0 + 3 * MIN, 'payment', { amount: 700 })];
    const { matches } = run(shipped, [batch]);
    expect(matches.map((m) => m.chain.map((p) => p.o))).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('matches events that arrive out of order within the delay, in event-time order', () => {
    // The payment is produced (and read) before the login that precedes it in event time.
    const old = ev(T0 - DAY, 'login', { deviceId: 'old' });
    const payment = ev(T0 + 2 * MIN, 'payment', { amount: 900 });
    const login = ev(T0, 'login', { deviceId: 'new' });
    const oneBatch = run(shipped, [[old, payment, login]]);
    const twoBatches = run(shipped, [[old, payment], [login]]);
    for (const { matches } of [oneBatch, twoBatches]) {
      expect(matches.map((m) => m.chain)).toEqual([
        [
          { t: T0, p: 0, o: 2 },
          { t: T0 + 2 * MIN, p: 0, o: 1 },
        ],
      ]);
    }
  });

  it("matches one user's events spread over two partitions, in either arrival order", () => {
    const old = ev(T0 - DAY, 'login', { deviceId: 'old', partition: 1 });
    const login = ev(T0, 'login', { deviceId: 'new', partition: 1 });
    const payment = ev(T0 + MIN, 'payment', { amount: 900, partition: 2 });
    for (const batches of [[[old, login], [payment]], [[payment], [old, login]], [[old, payment, login]]]) {
      const { matches } = run(shipped, batches);
      expect(matches.map((m) => m.chain)).toEqual([
        [
          { t: T0, p: 1, o: login.offset },
          { t: T0 + MIN, p: 2, o: payment.offset },
        ],
      ]);
    }
  });

  it('orders equal event times by partition, then offset', () => {
    const old = ev(T0 - DAY, 'login', { deviceId: 'old' });
    // Same time: the login on partition 0 is before the payment on partition 1 ...
    expect(run(shipped, [[old, ev(T0, 'login', { deviceId: 'new', partition: 0 }), ev(T0, 'payment', { amount: 900, partition: 1 })]]).matches).toHaveLength(1);
    offsets = new Map();
    // ... and the payment on partition 0 is before the login on partition 1.
    expect(run(shipped, [[ev(T0 - DAY, 'login', { deviceId: 'old' }), ev(T0, 'payment', { amount: 900, partition: 0 }), ev(T0, 'login', { deviceId: 'new', partition: 1 })]]).matches).toHaveLength(0);
  });

  it('fires nothing more for a redelivery, whole or re-cut', () => {
    const batch = takeover(MIN);
    const first = run(shipped, [batch]);
    expect(first.matches).toHaveLength(1);
    const again = matchSequences(shipped, first.state, batch, { delayMs: DELAY });
    expect(again).toMatchObject({ matches: [], skipped: 3, changed: false });
    const recut = run(shipped, [batch.slice(0, 2), batch.slice(1)], first.state);
    expect(recut.matches).toEqual([]);
    expect(recut.state).toEqual(first.state);
  });

  it('does not change the state it is given', () => {
    const state = run(shipped, [takeover(MIN).slice(0, 2)]).state;
    const copy = structuredClone(state);
    matchSequences(shipped, state, [ev(T0 + MIN, 'payment', { amount: 900 })], { delayMs: DELAY });
    expect(state).toEqual(copy);
  });
});

describe('bounds', () => {
  beforeEachReset();

  it('keeps at most 32 distinct devices per user, the most recent', () => {
    const batch = Array.from({ length: 100 }, (_, i) => ev(T0 + i * MIN, 'login', { deviceId: `d${i}` }));
    const { state } = run(shipped, [batch]);
    const devices = state.history.deviceId!.map((e) => e.v);
    expect(devices).toHaveLength(SEQUENCE_LIMITS.historyValues);
    expect(devices).toContain('d99');
    expect(devices).not.toContain('d0');
  });

  it('keeps at most a few occurrences per value and 16 events per step, and forgets what is past the horizon', () => {
    const batch = Array.from({ length: 200 }, (_, i) => ev(T0 + i * 1000, i % 2 ? 'payment' : 'login', { deviceId: 'd', amount: 10 }));
    const { state } = run(shipped, [batch]);
    expect(state.history.deviceId![0]!.at.length).toBeLessThanOrEqual(SEQUENCE_LIMITS.occurrencesPerValue);
    const later = run(shipped, [[ev(T0 + 40 * DAY, 'login', { deviceId: 'x' })]], state).state;
    expect(later.history.deviceId!.map((e) => e.v)).toEqual(['x']);
    for (const steps of Object.values(later.rules).map((r) => r.steps)) for (const s of steps) expect(s.length).toBeLessThanOrEqual(SEQUENCE_LIMITS.stepEvents);
  });

  it('keeps 16 pending payments at most, so a flood of unmatched completions stays bounded', () => {
    const batch = Array.from({ length: 50 }, (_, i) => ev(T0 + i * 1000, 'payment', { amount: 900 }));
    const { state } = run(shipped, [batch]);
    expect(state.rules['new-device-payment']!.steps[1]!.length).toBe(SEQUENCE_LIMITS.stepEvents);
  });

  it('expires the state 30 days and the delay after the later of its latest event and the write, so replayed old data is not written expired', () => {
    const { state } = run(shipped, [takeover(MIN)]);
    expect(expiresAt(shipped, state, DELAY, 0)).toBe(T0 + MIN + 30 * DAY + DELAY);
    const later = T0 + 90 * DAY;
    expect(expiresAt(shipped, state, DELAY, later)).toBe(later + 30 * DAY + DELAY);
  });

  it('keeps one long value by digest', () => {
    const long = 'x'.repeat(500);
    const { state } = run(shipped, [[ev(T0, 'login', { deviceId: long })]]);
    expect(state.history.deviceId![0]!.v).toMatch(/^#[0-9a-f]{32}$/);
    const again = run(shipped, [[ev(T0 - DAY, 'login', { deviceId: 'o' }), ev(T0 + MIN, 'login', { deviceId: long }), ev(T0 + 2 * MIN, 'payment', { amount: 900 })]], state);
    expect(again.matches).toHaveLength(0);
  });
});

describe('a three-failed-logins rule (the README example)', () => {
  beforeEachReset();
  const failed = "e.action == 'login_failed'";
  const rule = validateSequenceRule({
    id: 'failed-logins-then-success',
    kind: 'sequence',
    topic: 'user_events',
    key: 'userId',
    steps: [
      { name: 'failed1', condition: failed },
      { name: 'failed2', condition: failed },
      { name: 'failed3', condition: failed },
      { name: 'success', condition: "e.action == 'login'" },
    ],
    within: '5m',
    alertType: 'credential_stuffing',
    level: 'MEDIUM',
  });
  const group = new SequenceCompiler().groups([rule], 'user_events')[0]!;

  it('fires for three failures then a success within 5 minutes, chained to the latest three', () => {
    const batch = [0, 1, 2, 3].map((i) => ev(T0 + i * 30_000, 'login_failed')).concat(ev(T0 + 4 * MIN, 'login'));
    const { matches } = run(group, [batch]);
    expect(matches.map((m) => m.chain.map((p) => p.o))).toEqual([[1, 2, 3, 4]]);
  });

  it('does not fire for two failures, nor when the first of three is more than 5 minutes before the success', () => {
    expect(run(group, [[ev(T0, 'login_failed'), ev(T0 + 1000, 'login_failed'), ev(T0 + 2000, 'login')]]).matches).toHaveLength(0);
    offsets = new Map();
    expect(run(group, [[ev(T0, 'login_failed'), ev(T0 + 4 * MIN, 'login_failed'), ev(T0 + 4 * MIN + 1, 'login_failed'), ev(T0 + 5 * MIN + 1, 'login')]]).matches).toHaveLength(0);
  });

  it('starts afresh when the rule changes version', () => {
    const state = run(group, [[ev(T0, 'login_failed'), ev(T0 + 1000, 'login_failed'), ev(T0 + 2000, 'login_failed')]]).state;
    const v2 = new SequenceCompiler().groups([{ ...rule, version: 2 }], 'user_events')[0]!;
    expect(run(v2, [[ev(T0 + 3000, 'login')]], state).matches).toHaveLength(0);
    expect(run(group, [[ev(T0 + 3000, 'login', { offset: 10 })]], state).matches).toHaveLength(1);
  });
});

function beforeEachReset(): void {
  // Offsets restart per test so the chains name offsets 0, 1, 2, ...
  beforeEach(() => {
    offsets = new Map();
  });
}
