/**
 * Distinct caps in the pipeline DSL, the bounded features results and alerts carry, and how rules
 * and `top` read an approximate count.
 */
import { describe, expect, it } from 'vitest';
import { outputFeatures, SAMPLE_SIZE } from '../../lib/closer/output-features.ts';
import { registrationsTopic } from '../../lib/pipelines/builtin.ts';
import { count, DEFAULT_EXACT_UP_TO, distinct, distinctValueOf, MAX_DISTINCT_VALUE_BYTES, type Feature } from '../../lib/pipelines/features.ts';
import { pipeline } from '../../lib/pipelines/pipeline.ts';
import { minutes, tumbling } from '../../lib/pipelines/window.ts';
import { compileCondition } from '../../lib/rules/expression.ts';
import type { Registration } from '../../lib/schemas/events.ts';
import { featuresOf } from '../../lib/windows/features-of.ts';
import { HyperLogLog } from '../../lib/windows/hll.ts';
import { DeltaFolder } from '../../lib/ingest/fold.ts';
import { topRow } from '../../local/commands/tools.ts';

const byIp = (features: Record<string, Feature<Registration>>) =>
  pipeline('test_ip')
    .from(registrationsTopic)
    .key((e) => e.ip)
    .window(tumbling(minutes(10)))
    .aggregate(features);

describe('distinct caps', () => {
  it('default to DEFAULT_EXACT_UP_TO and take exactUpTo per feature', () => {
    const p = byIp({ n: count(), users: distinct((e) => e.userId), devices: distinct((e) => e.deviceId, { exactUpTo: 1000 }) });
    expect(p.slots.filter((s) => s.op === 'set').map((s) => [s.name, s.exactUpTo])).toEqual([
      ['users', DEFAULT_EXACT_UP_TO],
      ['devices', 1000],
    ]);
  });

  it('refuse a cap that is no whole number in range, and caps whose worst case passes the item budget', () => {
    expect(() => distinct((e: { a: string }) => e.a, { exactUpTo: 0 })).toThrow(/exactUpTo must be a whole number from 1 to 2000, got 0/);
    expect(() => distinct((e: { a: string }) => e.a, { exactUpTo: 2.5 })).toThrow(/exactUpTo/);
    expect(() => byIp({ a: distinct((e) => e.userId, { exactUpTo: 2000 }), b: distinct((e) => e.ip, { exactUpTo: 2000 }) })).toThrow(
      /pipeline "test_ip": its distinct features could take \d+ bytes .*a: exactUpTo 2000, b: exactUpTo 2000.*lower exactUpTo/,
    );
  });

  it('keep values over MAX_DISTINCT_VALUE_BYTES by a digest that counts the same', () => {
    const long = 'é'.repeat(MAX_DISTINCT_VALUE_BYTES / 2 + 1);
    expect(distinctValueOf('device-1')).toBe('device-1');
    expect(distinctValueOf('é'.repeat(MAX_DISTINCT_VALUE_BYTES / 2))).toBe('é'.repeat(MAX_DISTINCT_VALUE_BYTES / 2));
    expect(distinctValueOf(long)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(distinctValueOf(long)).toBe(distinctValueOf(long));
    expect(distinctValueOf(long)).not.toBe(distinctValueOf(`${long}x`));
    const p = byIp({ users: distinct((e) => e.userId) });
    expect(p.slots[0]!.value({ userId: long, ip: 'x', deviceId: undefined, eventTime: 0 })).toBe(distinctValueOf(long));
    // The slot's value function keeps exactly what distinctValueOf keeps, at and about its bound.
    for (const v of ['a'.repeat(42), 'a'.repeat(43), 'é'.repeat(42), 'é'.repeat(43), 'é'.repeat(64), 'é'.repeat(65), 'a'.repeat(129), '']) {
      expect(p.slots[0]!.value({ userId: v, ip: 'x', deviceId: undefined, eventTime: 0 })).toBe(distinctValueOf(v));
    }
    expect(p.slots[0]!.value({ userId: undefined as unknown as string, ip: 'x', deviceId: undefined, eventTime: 0 })).toBeUndefined();
  });
});

describe('distinct values at ingest', () => {
  it('are folded as the slot\'s value function keeps them (the fold calls the field function itself)', () => {
    const p = byIp({ users: distinct((e) => e.userId) });
    const ids = ['u1', 'é'.repeat(65), 'u1', 'a'.repeat(200), 42, null, undefined, 'a'.repeat(42), 'a'.repeat(43), 'é'.repeat(42), 'é'.repeat(43), 'é'.repeat(64), 'é'.repeat(65), ''] as unknown as string[];
    const events = ids.map((userId) => ({ userId, ip: 'x', deviceId: undefined, eventTime: 0 }));
    const folder = new DeltaFolder(p);
    for (const e of events) folder.add(e, true);
    const expected = [...new Set(events.map((e) => p.slots[0]!.value(e)).filter((v) => v !== undefined))];
    expect(expected).toContain(distinctValueOf('a'.repeat(200)));
    expect([...(folder.delta().values[0] as Set<string>)]).toEqual(expected);
  });
});

describe('an approximate distinct feature', () => {
  const p = byIp({ registrations: count(), users: distinct((e) => e.userId, { exactUpTo: 3 }) });
  const sketch = HyperLogLog.of(Array.from({ length: 40_000 }, (_, i) => `bot-${i}`)).toBytes();
  const features = featuresOf(p, { registrations: 40_000, users: { values: ['bot-2', 'bot-0', 'bot-1'], sketch } });

  it('reads as a count flagged approximate, with the values kept before the cap as sample', () => {
    expect(features.users).toMatchObject({ approximate: true, sample: ['bot-0', 'bot-1', 'bot-2'] });
    expect(Math.abs((features.users as { count: number }).count - 40_000)).toBeLessThan(2_000);
  });

  it('never reads below what the cap proves (the switch happens past it)', () => {
    const few = featuresOf(p, { users: { values: ['a', 'b', 'c'], sketch: HyperLogLog.of(['a', 'b']).toBytes() } });
    expect(few.users).toMatchObject({ count: 4, approximate: true });
  });

  it('is compared by its count in rules', () => {
    expect(compileCondition('users > 30000').test(features)).toBe(true);
    expect(compileCondition('users > 50000').test(features)).toBe(false);
  });

  it('goes into results and alerts as count, flag and a bounded sample, as does an exact one', () => {
    const exact = Array.from({ length: 300 }, (_, i) => `u${String(i).padStart(3, '0')}`);
    const out = outputFeatures({ registrations: 40_000, users: features.users!, cities: exact, nothing: null });
    expect(out.registrations).toBe(40_000);
    expect(out.nothing).toBeNull();
    expect(out.users).toMatchObject({ approximate: true, sample: ['bot-0', 'bot-1', 'bot-2'] });
    expect(out.cities).toEqual({ count: 300, approximate: false, sample: exact.slice(0, SAMPLE_SIZE) });
    expect(JSON.stringify(out).length).toBeLessThan(1_000);
  });

  it('shows in `top` as ~N, an exact one as its count', () => {
    const row = topRow({ key: '192.0.2.7', windowStart: 0, closedAt: 1 }, { ...features, cities: ['a', 'b'] });
    expect(row).toMatchObject({ key: '192.0.2.7', closed: true, registrations: 40_000, users: `~${(features.users as { count: number }).count}`, cities: 2 });
  });
});
