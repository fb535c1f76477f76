import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeKafkaEvent, type KafkaEvent } from '../../lib/codec/kafka-event.ts';
import { encodeKafkaEvent } from '../../lib/codec/encode.ts';
import { planBatch, type PlanOptions } from '../../lib/ingest/plan.ts';
import { createRouter } from '../../lib/ingest/router.ts';
import { builtinPipelines, payments, risk } from '../../lib/pipelines/builtin.ts';
import { count } from '../../lib/pipelines/features.ts';
import { pipeline, source } from '../../lib/pipelines/pipeline.ts';
import { hopping, minutes, tumbling, windowStartOf } from '../../lib/pipelines/window.ts';
import { registrations, userEvents } from '../../lib/schemas/events.ts';

const router = createRouter(builtinPipelines);
const options = { maxRecordBytes: 64 * 1024 };
const sample = (name: string) => JSON.parse(readFileSync(new URL(`../../events/${name}.json`, import.meta.url), 'utf8')) as KafkaEvent;

describe('planBatch', () => {
  it('pre-aggregates one delta per (pipeline, key, window), feeding several pipelines from one topic', () => {
    const plan = planBatch(decodeKafkaEvent(sample('payments')), router, options);
    const spree = plan.aggregates.find((a) => a.pipeline === payments && a.key === '1001')!;
    expect(spree.delta.events).toBe(12);
    // Amounts are summed in whole millionths: exactly 355.96, where doubles give 355.96000000000004.
    expect(spree.delta.values).toEqual([12, 355_960_000]);
    expect(spree.offsets.map((r) => r.partitionId).sort()).toEqual(['user_events-0', 'user_events-1']);
    // Every user event also lands in the risk pipeline's hourly window.
    expect(plan.aggregates.filter((a) => a.pipeline === risk).map((a) => a.key).sort()).toEqual(['1001', '1002', '1003']);
    expect(plan.stats).toEqual({ records: 15, valid: 15, quarantined: 0, filtered: 1, late: 0, alreadyApplied: 0 });
  });

  it('quarantines each bad record with its reason, field and coordinates, and keeps the rest', () => {
    const plan = planBatch(decodeKafkaEvent(sample('poison')), router, options);
    const reasons = Object.fromEntries(plan.sideRecords.map((r) => [r.offset, `${r.field ?? '-'} | ${r.reason}`]));
    expect(reasons[701]).toMatch(/^value \| invalid JSON/);
    expect(reasons[702]).toBe('amount | field "amount": expected a number');
    expect(reasons[703]).toBe('timestamp | field "timestamp": required (as "timestamp" or "event_time")');
    expect(reasons[704]).toMatch(/^value \| value is \d+ bytes, over the 65536-byte limit$/);
    expect(reasons[705]).toMatch(/^event_time|timestamp/);
    expect(reasons[707]).toBe('value | record has no value (tombstone)');
    expect(plan.sideRecords.every((r) => r.topic === 'user_events' && r.partition === 3 && r.sha256.length === 64)).toBe(true);
    expect(plan.sideRecords.find((r) => r.offset === 704)!.sample.length).toBe(1024);
    const applied = plan.aggregates.find((a) => a.pipeline === payments)!;
    expect(applied.delta.values).toEqual([2, 15_000_000]);
    expect(plan.stats.quarantined).toBe(6);
  });

  it('counts readings the iot filter rejects instead of dropping them', () => {
    const plan = planBatch(decodeKafkaEvent(sample('iot')), router, options);
    const bad = plan.aggregates.find((a) => a.key === 'sensor-9')!;
    expect(bad.delta.rejected).toBe(5);
    expect(bad.delta.events).toBe(6);
  });

  it('quarantines records of a topic no pipeline reads', () => {
    const plan = planBatch(decodeKafkaEvent(encodeKafkaEvent([{ topic: 'other', partition: 0, offset: 3, value: {} }])), router, options);
    expect(plan.sideRecords[0]).toMatchObject({ offset: 3, reason: 'no pipeline reads topic "other"' });
  });
});

describe('lateness when a record is read', () => {
  const T = Date.parse('2026-11-23T12:00:00Z');
  const MIN = 60_000;
  const payment = (partition: number, offset: number, t: number) => ({
    topic: 'user_events',
    partition,
    offset,
    value: { user_id: 7, action: 'payment', amount: 1, timestamp: t },
  });
  const lateness = (marks: [string, { maxEventTime: number; lastOffset: number }][] = []) => ({ ...options, lateness: { delayMs: 10 * MIN, marks: new Map(marks) } });
  const plan = (records: ReturnType<typeof payment>[], o: PlanOptions = lateness()) => planBatch(decodeKafkaEvent(encodeKafkaEvent(records)), router, o);

  it('turns an event away for a pipeline whose window ended at or before its partition watermark, not for longer windows', () => {
    // After an event at T+30min the partition watermark is T+20min: the 5-minute window of T+14min
    // has ended, its 1-hour window has not.
    const p = plan([payment(0, 1, T + 30 * MIN), payment(0, 2, T + 14 * MIN), payment(0, 3, T + 21 * MIN)]);
    expect(p.stats.late).toBe(1);
    expect(p.sideRecords).toEqual([expect.objectContaining({ kind: 'late', offset: 2, pipeline: 'payments', windowStart: T + 10 * MIN })]);
    expect(p.aggregates.filter((a) => a.pipeline === payments).map((a) => [a.windowStart, a.delta.events])).toEqual([
      [T + 30 * MIN, 1],
      [T + 20 * MIN, 1],
    ]);
    expect(p.aggregates.find((a) => a.pipeline === risk)!.delta.events).toBe(3);
  });

  it('judges each partition by its own earlier records, and the first record of a partition as on time', () => {
    const p = plan([payment(0, 1, T + 30 * MIN), payment(1, 1, T)]);
    expect(p.stats.late).toBe(0);
  });

  it('continues from the durable mark, skips records at or below it, and decides as a single delivery would', () => {
    const records = [payment(0, 5, T + 30 * MIN), payment(0, 6, T + 14 * MIN), payment(0, 7, T + 40 * MIN), payment(0, 8, T + 25 * MIN)];
    const whole = plan(records);
    // Redelivered whole after a delivery that applied offset 5 and raised the mark there.
    const rest = plan(records, lateness([['user_events-0', { maxEventTime: T + 30 * MIN, lastOffset: 5 }]]));
    expect(rest.stats.alreadyApplied).toBe(1);
    expect(rest.partitions[0]!.firstPlannedOffset).toBe(6);
    const lateOffsets = (x: typeof whole) => x.sideRecords.filter((r) => r.kind === 'late').map((r) => [r.offset, r.pipeline]);
    expect(lateOffsets(rest)).toEqual(lateOffsets(whole));
    expect(lateOffsets(whole)).toEqual([
      [6, 'payments'],
      [8, 'payments'],
    ]);
  });

  it('judges nothing late without lateness options (pure planning, as benchmarks use it)', () => {
    expect(plan([payment(0, 1, T + 30 * MIN), payment(0, 2, T)], options).stats.late).toBe(0);
  });
});

describe('planBatch with hopping windows', () => {
  const T = Date.parse('2026-11-23T12:00:00Z');
  const MIN = 60_000;
  const userEventsSource = source('user_events', userEvents);
  // 10-minute windows, one every 2 minutes: each event in 5 of them.
  const bursts = pipeline('bursts')
    .from(userEventsSource)
    .filter((e) => e.action === 'payment', { rejectedAs: 'other' })
    .key((e) => e.userId)
    .window(hopping(minutes(10), { every: minutes(2) }))
    .aggregate({ payments: count() });
  const hoppingRouter = createRouter([bursts]);
  const event = (partition: number, offset: number, t: number, action = 'payment') => ({ topic: 'user_events', partition, offset, value: { user_id: 7, action, timestamp: t } });
  const plan = (records: ReturnType<typeof event>[], o: PlanOptions = options) => planBatch(decodeKafkaEvent(encodeKafkaEvent(records)), hoppingRouter, o);
  const view = (p: ReturnType<typeof plan>) =>
    p.aggregates.map((a) => ({
      window: [(a.windowStart - T) / MIN, (a.windowEnd - T) / MIN],
      events: a.delta.events,
      payments: a.delta.values[0],
      rejected: a.delta.rejected,
      offsets: a.offsets.map((r) => [r.partitionId, r.first, r.last]),
      members: a.members,
    }));

  it('folds an event into its one bucket of one advance, each bucket its own aggregate with its offsets and members', () => {
    const p = plan([event(0, 10, T + 3 * MIN), event(1, 4, T + 5 * MIN, 'login'), event(0, 11, T + 9 * MIN)]);
    expect(p.stats).toEqual({ records: 3, valid: 3, quarantined: 0, filtered: 0, late: 0, alreadyApplied: 0 });
    // T+3 is in bucket [T+2, T+4), T+5 in [T+4, T+6), T+9 in [T+8, T+10) (minutes from T): one write each,
    // not the five windows each event is in. Partition 0 first: T+3 (index 0), T+9 (1), then the login (2).
    expect(view(p)).toEqual([
      { window: [2, 4], events: 1, payments: 1, rejected: 0, offsets: [['user_events-0', 10, 10]], members: [1] },
      { window: [8, 10], events: 1, payments: 1, rejected: 0, offsets: [['user_events-0', 11, 11]], members: [3] },
      { window: [4, 6], events: 1, payments: undefined, rejected: 1, offsets: [['user_events-1', 4, 4]], members: [4] },
    ]);
  });

  it('turns an event away iff its bucket has ended: from all of its windows or from none', () => {
    // After T+30 the watermark (delay 10 min) is T+20. T+15's bucket [T+14, T+16) has ended, so it is
    // late, although four of its windows ([T+12, T+22) .. [T+6, T+16) end after T+20): all or nothing.
    // T+21's bucket [T+20, T+22) has not: it is applied.
    const lateness = { ...options, lateness: { delayMs: 10 * MIN, marks: new Map() } };
    const p = plan([event(0, 1, T + 30 * MIN), event(0, 2, T + 15 * MIN), event(0, 3, T + 21 * MIN)], lateness);
    expect(p.stats.late).toBe(1);
    expect(p.sideRecords).toEqual([
      expect.objectContaining({ kind: 'late', offset: 2, pipeline: 'bursts', key: '7', windowStart: T + 14 * MIN, reason: expect.stringContaining(`window [${T + 14 * MIN}, ${T + 16 * MIN})`) }),
    ]);
    expect(p.aggregates.filter((a) => a.members.includes(3))).toEqual([]);
    expect(p.aggregates.map((a) => (a.windowStart - T) / MIN).sort((a, b) => a - b)).toEqual([20, 30]);
  });

  it('turns an event away at the exact bucket end and applies it one ms before', () => {
    const lateness = { ...options, lateness: { delayMs: 0, marks: new Map() } };
    // The watermark after T+16 is T+16: bucket [T+14, T+16) has ended at it, [T+16, T+18) has not.
    const p = plan([event(0, 1, T + 16 * MIN), event(0, 2, T + 16 * MIN - 1), event(0, 3, T + 16 * MIN)], lateness);
    expect(p.sideRecords.map((r) => r.offset)).toEqual([2]);
    expect(view(p).map((v) => [v.window, v.members])).toEqual([[[16, 18], [1, 5]]]);
  });
});

describe('pipeline definitions', () => {
  it('reject incomplete or clashing definitions at build time', () => {
    const src = source('user_events', userEvents);
    expect(() => pipeline('Bad-Name')).toThrow(/must match/);
    expect(() => pipeline('p').from(src).window(tumbling(minutes(1))).aggregate({ n: count() })).toThrow(/call \.key\(\)/);
    const other = source('user_events', registrations);
    const p1 = pipeline('a').from(src).key((e) => e.userId).window(tumbling(1000)).aggregate({ n: count() });
    const p2 = pipeline('b').from(other).key((e) => e.userId).window(tumbling(1000)).aggregate({ s: count() });
    expect(() => createRouter([p1, p2])).toThrow(/different event families/);
    expect(() => createRouter([p1, p1])).toThrow(/named "a"/);
  });

  it('aligns tumbling windows to the epoch, also before it', () => {
    const w = tumbling(minutes(5));
    expect(windowStartOf(w, Date.parse('2026-11-23T10:07:59.999Z'))).toBe(Date.parse('2026-11-23T10:05:00Z'));
    expect(windowStartOf(w, -1)).toBe(-minutes(5));
  });
});
