/**
 * The DuckDB reference's sequence rule `new-device-payment` (local/verify/reference/sql/sequences.ts)
 * on small hand-written logs: the pattern fires, each near miss does not, the order is
 * (eventTime, partition, offset) whatever the arrival order, lateness is judged per partition, and
 * the chain reported is the latest one. Nothing here imports lib/: the reference is the oracle.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeReference, SEQUENCE_RULES, sequenceAlertId, type ReferenceResult } from '../../local/verify/reference/reference.ts';
import { rng } from '../support/records.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);

let dir: string;
let logs = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reference-seq-test-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Ev {
  user: number | string;
  action: string;
  t: number;
  device?: string;
  amount?: number | string;
  /** Default 0. */
  partition?: number;
}

/** Writes the events as a log, in the order given (offsets counted per partition), and runs the reference. */
async function run(events: Ev[]): Promise<ReferenceResult> {
  return computeReference(write(events));
}

function write(events: Ev[]): string {
  const next = new Map<number, number>();
  const lines = events.map((e) => {
    const partition = e.partition ?? 0;
    const offset = next.get(partition) ?? 0;
    next.set(partition, offset + 1);
    const value: Record<string, unknown> = { user_id: e.user, action: e.action, timestamp: e.t, location_city: 'Paris' };
    if (e.device !== undefined) value.device_id = e.device;
    if (e.amount !== undefined) value.amount = e.amount;
    return JSON.stringify({ topic: 'user_events', partition, offset, key: String(e.user), value: JSON.stringify(value) });
  });
  const path = join(dir, `log-${++logs}.jsonl`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** The matches as "key login@partition:offset -> payment@partition:offset". */
const chains = (r: ReferenceResult) => r.sequenceMatches.map((m) => `${m.key} ${m.matched.map((e) => `${e.step}@${e.partition}:${e.offset}`).join(' -> ')}`);

/** Earlier activity of user 1 on a known device, then a login from a new one: the start of the pattern. */
const known = (t = T0, partition = 0): Ev => ({ user: 1, action: 'view', t, device: 'known', partition });
const newLogin = (t: number, partition = 0, device = 'new'): Ev => ({ user: 1, action: 'login', t, device, partition });
const pay = (t: number, amount: number | string = 750, partition = 0): Ev => ({ user: 1, action: 'payment', t, device: 'new', amount, partition });

describe('reference: sequence rule new-device-payment', () => {
  it('restates the shipped rule', () => {
    expect(SEQUENCE_RULES).toEqual([{ id: 'new-device-payment', topic: 'user_events', steps: ['login', 'payment'], withinMs: 600_000, alertType: 'account_takeover', level: 'HIGH' }]);
  });

  it('fires for a login from a new device then a payment above 500 within 10 minutes, with the id the engine gives it', async () => {
    const r = await run([known(), newLogin(T0 + MINUTE), { user: 1, action: 'view', t: T0 + 2 * MINUTE, device: 'new' }, pay(T0 + 5 * MINUTE, 500.01)]);
    expect(r.sequenceMatches).toHaveLength(1);
    const m = r.sequenceMatches[0]!;
    expect(m).toMatchObject({ ruleId: 'new-device-payment', alertType: 'account_takeover', level: 'HIGH', key: '1', windowStart: T0 + MINUTE, windowEnd: T0 + 5 * MINUTE });
    expect(m.completing).toEqual({ topic: 'user_events', partition: 0, offset: 3, eventTime: T0 + 5 * MINUTE });
    expect(m.matched).toEqual([
      { step: 'login', partition: 0, offset: 1, eventTime: T0 + MINUTE },
      { step: 'payment', partition: 0, offset: 3, eventTime: T0 + 5 * MINUTE },
    ]);
    // SEQ-SEMANTICS: seq-<first 24 hex of sha256(JSON.stringify([ruleId, key, topic, partition, offset]))>.
    const digest = createHash('sha256').update('["new-device-payment","1","user_events",0,3]').digest('hex');
    expect(m.id).toBe(`seq-${digest.slice(0, 24)}`);
    expect(sequenceAlertId('new-device-payment', '1', m.completing)).toBe(m.id);
    // Step flags: the login and the payment, nothing else.
    expect(r.sequenceSteps.map((e) => [e.offset, e.steps])).toEqual([[1, ['login']], [3, ['payment']]]);
    expect(r.sequenceLate).toEqual([]);
  });

  it('is inclusive at exactly 10 minutes, and misses a payment 1 ms (or 501 s) later', async () => {
    expect(chains(await run([known(), newLogin(T0 + MINUTE), pay(T0 + 11 * MINUTE)]))).toEqual(['1 login@0:1 -> payment@0:2']);
    expect(chains(await run([known(), newLogin(T0 + MINUTE), pay(T0 + 11 * MINUTE + 1)]))).toEqual([]);
    expect(chains(await run([known(), newLogin(T0 + MINUTE), pay(T0 + 11 * MINUTE + 501_000)]))).toEqual([]);
  });

  it('needs an amount above 500: exactly 500 (also quoted) does not fire, nor a payment without an amount', async () => {
    expect(chains(await run([known(), newLogin(T0 + MINUTE), pay(T0 + 2 * MINUTE, 500)]))).toEqual([]);
    expect(chains(await run([known(), newLogin(T0 + MINUTE), pay(T0 + 2 * MINUTE, '500.00')]))).toEqual([]);
    expect(chains(await run([known(), newLogin(T0 + MINUTE), { user: 1, action: 'payment', t: T0 + 2 * MINUTE }]))).toEqual([]);
    expect(chains(await run([known(), newLogin(T0 + MINUTE), pay(T0 + 2 * MINUTE, '500.01')]))).toEqual(['1 login@0:1 -> payment@0:2']);
  });

  it('does not fire for a payment before the login', async () => {
    expect(chains(await run([known(), pay(T0 + MINUTE), newLogin(T0 + 2 * MINUTE)]))).toEqual([]);
  });

  it('does not fire for a device seen within 30 days (29 days, exactly 30), fires past 30 days when another device is recent', async () => {
    const login = T0 + 30 * DAY;
    const seen = (ago: number): Ev[] => [{ user: 1, action: 'view', t: login - ago, device: 'new' }, known(login - MINUTE), newLogin(login), pay(login + MINUTE)];
    expect(chains(await run(seen(29 * DAY)))).toEqual([]);
    expect(chains(await run(seen(30 * DAY)))).toEqual([]);
    expect(chains(await run(seen(30 * DAY + 1)))).toEqual(['1 login@0:2 -> payment@0:3']);
    // Seen earlier in the stream, any action.
    expect(chains(await run([known(), { user: 1, action: 'payment', t: T0 + MINUTE, device: 'new', amount: 3 }, newLogin(T0 + 2 * MINUTE), pay(T0 + 3 * MINUTE)]))).toEqual([]);
  });

  it("does not fire for a user's first device ever, nor when the only earlier device is over 30 days old or absent", async () => {
    expect(chains(await run([newLogin(T0), pay(T0 + MINUTE)]))).toEqual([]);
    expect(chains(await run([{ user: 1, action: 'view', t: T0 }, newLogin(T0 + MINUTE), pay(T0 + 2 * MINUTE)]))).toEqual([]);
    expect(chains(await run([known(T0 - 30 * DAY - 1), newLogin(T0), pay(T0 + MINUTE)]))).toEqual([]);
    // Exactly 30 days before is within the history (t - 30 d inclusive).
    expect(chains(await run([known(T0 - 30 * DAY), newLogin(T0), pay(T0 + MINUTE)]))).toEqual(['1 login@0:1 -> payment@0:2']);
    // Another user's devices are not this user's history.
    expect(chains(await run([{ ...known(), user: 2 }, newLogin(T0 + MINUTE), pay(T0 + 2 * MINUTE)]))).toEqual([]);
  });

  it('matches in event-time order when the events arrive out of order within the delay', async () => {
    // The payment is read first; the login and the earlier activity arrive after it, within the delay.
    const r = await run([pay(T0 + 8 * MINUTE), newLogin(T0 + 3 * MINUTE), known(T0 + MINUTE)]);
    expect(r.sequenceLate).toEqual([]);
    expect(chains(r)).toEqual(['1 login@0:1 -> payment@0:0']);
    expect(r.sequenceMatches[0]).toMatchObject({ windowStart: T0 + 3 * MINUTE, windowEnd: T0 + 8 * MINUTE });
  });

  it('orders one user across two partitions by (eventTime, partition, offset)', async () => {
    expect(chains(await run([known(T0, 0), newLogin(T0 + MINUTE, 0), pay(T0 + 2 * MINUTE, 900, 1)]))).toEqual(['1 login@0:1 -> payment@1:0']);
    // The history on one partition, the login on the other.
    expect(chains(await run([known(T0, 1), newLogin(T0 + MINUTE, 0), pay(T0 + 2 * MINUTE, 900, 1)]))).toEqual(['1 login@0:0 -> payment@1:1']);
    // The same event time: the lower partition is first.
    expect(chains(await run([known(T0, 0), newLogin(T0 + MINUTE, 0), pay(T0 + MINUTE, 900, 1)]))).toEqual(['1 login@0:1 -> payment@1:0']);
    expect(chains(await run([known(T0, 0), newLogin(T0 + MINUTE, 1), pay(T0 + MINUTE, 900, 0)]))).toEqual([]);
    // Each partition has its own watermark: far ahead on partition 1 makes nothing late on partition 0.
    const r = await run([{ user: 9, action: 'view', t: T0 + 5 * 60 * MINUTE, partition: 1 }, known(T0, 0), newLogin(T0 + MINUTE, 0), pay(T0 + 2 * MINUTE, 900, 0)]);
    expect(r.sequenceLate).toEqual([]);
    expect(chains(r)).toEqual(['1 login@0:1 -> payment@0:2']);
  });

  it('applies no late event (below its partition watermark): neither as a step nor as history; at the watermark it is on time', async () => {
    // Offset 0 moves partition 0's watermark to T0 + 30 min (event time T0 + 40 min, delay 10 min).
    const ahead: Ev = { user: 9, action: 'view', t: T0 + 40 * MINUTE, partition: 0 };
    const lateLogin = await run([ahead, known(T0 + 29 * MINUTE, 1), newLogin(T0 + 29 * MINUTE + 59_999, 0), pay(T0 + 31 * MINUTE, 900, 1)]);
    expect(lateLogin.sequenceLate).toEqual([{ topic: 'user_events', partition: 0, offset: 1 }]);
    expect(chains(lateLogin)).toEqual([]);
    // At exactly the watermark the login is on time.
    expect(chains(await run([ahead, known(T0 + 29 * MINUTE, 1), newLogin(T0 + 30 * MINUTE, 0), pay(T0 + 31 * MINUTE, 900, 1)]))).toEqual(['1 login@0:1 -> payment@1:1']);
    // A late payment completes nothing.
    const latePayment = await run([known(T0 + 25 * MINUTE, 1), newLogin(T0 + 26 * MINUTE, 1), ahead, pay(T0 + 29 * MINUTE, 900, 0)]);
    expect(latePayment.sequenceLate).toEqual([{ topic: 'user_events', partition: 0, offset: 1 }]);
    expect(chains(latePayment)).toEqual([]);
    // A late event is no history: the only earlier device was late, so this is the first device.
    const lateHistory = await run([ahead, known(T0 + 29 * MINUTE, 0), newLogin(T0 + 31 * MINUTE, 1), pay(T0 + 32 * MINUTE, 900, 1)]);
    expect(chains(lateHistory)).toEqual([]);
    // ... nor does a late use of the new device hide it.
    const lateSameDevice = await run([known(T0 + 28 * MINUTE, 1), ahead, { user: 1, action: 'view', t: T0 + 29 * MINUTE, device: 'new', partition: 0 }, newLogin(T0 + 31 * MINUTE, 1), pay(T0 + 32 * MINUTE, 900, 1)]);
    expect(chains(lateSameDevice)).toEqual(['1 login@1:1 -> payment@1:2']);
  });

  it('reports the latest chain: the latest login satisfying the step before the payment', async () => {
    // Two new-device logins: the later one. A login from a device already seen is no step, so it is not chosen.
    const r = await run([known(), newLogin(T0 + MINUTE, 0, 'new-a'), newLogin(T0 + 3 * MINUTE, 0, 'new-b'), newLogin(T0 + 4 * MINUTE, 0, 'known'), pay(T0 + 6 * MINUTE)]);
    expect(chains(r)).toEqual(['1 login@0:2 -> payment@0:4']);
    expect(r.sequenceSteps.filter((e) => e.steps.includes('login')).map((e) => e.offset)).toEqual([1, 2]);
    // The first login is over 10 minutes before the payment, the latest within: it matches with the latest.
    expect(chains(await run([known(), newLogin(T0 + MINUTE, 0, 'new-a'), newLogin(T0 + 8 * MINUTE, 0, 'new-b'), pay(T0 + 12 * MINUTE)]))).toEqual(['1 login@0:2 -> payment@0:3']);
    // A login later in ORDER than the payment is not before it, whatever its offset.
    expect(chains(await run([known(), pay(T0 + 2 * MINUTE), newLogin(T0 + MINUTE, 0, 'new-a'), newLogin(T0 + 3 * MINUTE, 0, 'new-b')]))).toEqual(['1 login@0:2 -> payment@0:1']);
  });

  it('raises one match per completing payment, each with its own id', async () => {
    const r = await run([known(), newLogin(T0 + MINUTE), pay(T0 + 2 * MINUTE), pay(T0 + 3 * MINUTE, 501, 1)]);
    expect(chains(r)).toEqual(['1 login@0:1 -> payment@0:2', '1 login@0:1 -> payment@1:0']);
    expect(new Set(r.sequenceMatches.map((m) => m.id)).size).toBe(2);
  });
});

/**
 * The rule read a third way, in plain TypeScript over the same events, as directly as the
 * semantics say it: lateness per partition in offset order, ORDER, the history within 30 days
 * (inclusive), the latest login-step event before each payment-step event, within 10 minutes.
 */
function plainMatches(events: Ev[], delay = 10 * MINUTE): string[] {
  const next = new Map<number, number>();
  const greatest = new Map<number, number>();
  const applied = events.flatMap((e) => {
    const partition = e.partition ?? 0;
    const offset = next.get(partition) ?? 0;
    next.set(partition, offset + 1);
    const before = greatest.get(partition);
    greatest.set(partition, Math.max(before ?? -Infinity, e.t));
    return before !== undefined && e.t < before - delay ? [] : [{ ...e, partition, offset, key: String(e.user) }];
  });
  type A = (typeof applied)[number];
  const lt = (a: A, b: A) => a.t < b.t || (a.t === b.t && (a.partition < b.partition || (a.partition === b.partition && a.offset < b.offset)));
  const amountOf = (e: A) => (e.amount === undefined ? undefined : Number(e.amount));
  const loginStep = (e: A) => {
    if (e.action !== 'login' || e.device === undefined) return false;
    const history = applied.filter((h) => h.key === e.key && h.device !== undefined && lt(h, e) && h.t >= e.t - 30 * DAY);
    return history.length > 0 && !history.some((h) => h.device === e.device);
  };
  const out: string[] = [];
  for (const p of applied) {
    if (p.action !== 'payment' || !((amountOf(p) ?? 0) > 500)) continue;
    const logins = applied.filter((l) => l.key === p.key && lt(l, p) && loginStep(l));
    const latest = logins.reduce<A | undefined>((m, l) => (m === undefined || lt(m, l) ? l : m), undefined);
    if (latest && p.t - latest.t <= 10 * MINUTE) out.push(`${p.key} login@${latest.partition}:${latest.offset} -> payment@${p.partition}:${p.offset}`);
  }
  return out.sort();
}

describe('reference: sequence rule, differential against a plain computation', () => {
  it('agrees on random logs with disorder, late events, old history, ties and two or three partitions', async () => {
    let matches = 0;
    for (const seed of [1, 2, 3, 4]) {
      const r = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
      const events: Ev[] = [];
      const partitions = seed % 2 === 0 ? 2 : 3;
      for (let partition = 0; partition < partitions; partition++) {
        // Old history first (28 to 32 days back, so both sides of the horizon), then the stream.
        const old = Array.from({ length: 6 }, (): Ev => ({ user: 1 + Math.floor(r() * 8), action: 'view', t: T0 - 28 * DAY - Math.floor(r() * 4 * DAY), device: `d${Math.floor(r() * 4)}`, partition }));
        events.push(...old.sort((a, b) => a.t - b.t));
        for (let i = 0, arrival = T0; i < 150; i++) {
          arrival += Math.floor(r() * 20_000);
          // Up to 15 minutes behind its arrival: some are later than the 10-minute delay allows.
          const t = arrival - Math.floor(r() * 15 * MINUTE);
          const action = pick(['login', 'login', 'payment', 'payment', 'view']);
          const device = r() < 0.1 ? undefined : `d${Math.floor(r() * 5)}`;
          const amount = action === 'payment' ? pick([100, 500, 500.01, 900, '650', undefined]) : undefined;
          // Whole minutes now and then, so events of one user tie on event time across partitions.
          events.push({ user: 1 + Math.floor(r() * 8), action, t: r() < 0.2 ? Math.floor(t / MINUTE) * MINUTE : t, device, amount, partition });
        }
      }
      const ref = await computeReference(write(events));
      expect(chains(ref).sort(), `seed ${seed}`).toEqual(plainMatches(events));
      expect(ref.sequenceLate.length).toBeGreaterThan(0);
      matches += ref.sequenceMatches.length;
    }
    // The logs do exercise the rule.
    expect(matches).toBeGreaterThan(10);
    expect(matches).toBeLessThan(4 * 150);
  });
});
