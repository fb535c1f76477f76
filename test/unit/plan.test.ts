import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeKafkaEvent, type KafkaEvent } from '../../lib/codec/kafka-event.ts';
import { encodeKafkaEvent } from '../../lib/codec/encode.ts';
import { planBatch } from '../../lib/ingest/plan.ts';
import { createRouter } from '../../lib/ingest/router.ts';
import { builtinPipelines, payments, risk } from '../../lib/pipelines/builtin.ts';
import { count } from '../../lib/pipelines/features.ts';
import { pipeline, source } from '../../lib/pipelines/pipeline.ts';
import { minutes, tumbling, windowStartOf } from '../../lib/pipelines/window.ts';
import { registrations, userEvents } from '../../lib/schemas/events.ts';

const router = createRouter(builtinPipelines);
const options = { maxRecordBytes: 64 * 1024 };
const sample = (name: string) => JSON.parse(readFileSync(new URL(`../../events/${name}.json`, import.meta.url), 'utf8')) as KafkaEvent;

describe('planBatch', () => {
  it('pre-aggregates one delta per (pipeline, key, window), feeding several pipelines from one topic', () => {
    const plan = planBatch(decodeKafkaEvent(sample('payments')), router, options);
    const spree = plan.aggregates.find((a) => a.pipeline === payments && a.key === '1001')!;
    expect(spree.delta.events).toBe(12);
    expect(spree.delta.values).toEqual([12, 4 * 49.99 + 8 * 19.5]);
    expect(spree.offsets.map((r) => r.partitionId).sort()).toEqual(['user_events-0', 'user_events-1']);
    // Every user event also lands in the risk pipeline's hourly window.
    expect(plan.aggregates.filter((a) => a.pipeline === risk).map((a) => a.key).sort()).toEqual(['1001', '1002', '1003']);
    expect(plan.stats).toEqual({ records: 15, valid: 15, quarantined: 0, filtered: 1 });
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
    expect(applied.delta.values).toEqual([2, 15]);
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
