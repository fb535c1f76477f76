import { describe, expect, it } from 'vitest';
import { encodeKafkaEvent } from '../../lib/codec/encode.ts';
import { createRouter } from '../../lib/ingest/router.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { atomicCounterUpdate, idempotencyKey, naiveRecords } from '../../bench/naive.ts';

const router = createRouter(builtinPipelines);
const t = Date.parse('2026-11-23T10:00:30Z');

describe('bench per-event designs', () => {
  it('writes once per event per pipeline it feeds, rejected readings included', () => {
    const event = encodeKafkaEvent([
      { topic: 'user_events', partition: 0, offset: 0, value: { user_id: 1, action: 'payment', amount: 5, device_id: 'd', city: 'Lima', timestamp: t } },
      { topic: 'user_events', partition: 0, offset: 1, value: { user_id: 1, action: 'view', device_id: 'd', city: 'Lima', timestamp: t } },
      { topic: 'iot_telemetry', partition: 1, offset: 7, value: { device_id: 's1', temperature: 500, humidity: 50, timestamp: t } },
      { topic: 'iot_telemetry', partition: 1, offset: 8, value: 'not json' },
    ]);
    const records = naiveRecords(event, router);
    expect(records.map((r) => [r.id, r.writes.map((w) => w.pipeline)])).toEqual([
      ['user_events-0-0', ['payments', 'risk']],
      ['user_events-0-1', ['risk']],
      ['iot_telemetry-1-7', ['iot']],
    ]);
    expect(records[0]!.writes[0]).toMatchObject({ key: '1', windowStart: Date.parse('2026-11-23T10:00:00Z'), windowEnd: Date.parse('2026-11-23T10:05:00Z'), marks: [] });
    expect(records[2]!.writes[0]!.slots).toEqual([{ name: 'rejected', op: 'add', value: 1 }]);
  });

  it('builds an unconditional UpdateItem on the same window item, every name and value used', () => {
    const input = atomicCounterUpdate(
      // A capped distinct slot too: its sketch name appears only in the condition this design drops.
      { pipeline: 'payments', key: '1', windowStart: 0, windowEnd: 300_000, slots: [{ name: 'count', op: 'add', value: 1 }, { name: 'devices', op: 'set', value: ['d'], exactUpTo: 500 }], marks: [] },
      'counters',
    );
    expect(input).not.toHaveProperty('ConditionExpression');
    expect(input.Key).toEqual({ pk: { S: 'payments#1' }, sk: { N: '0' } });
    expect(input.UpdateExpression).toContain('ADD #s0 :s0');
    const placeholders = new Set(input.UpdateExpression.match(/[#:]\w+/g));
    expect(Object.keys(input.ExpressionAttributeNames).every((n) => placeholders.has(n))).toBe(true);
    expect(Object.keys(input.ExpressionAttributeValues).every((v) => placeholders.has(v))).toBe(true);
  });

  it('keys idempotency records as Powertools does: function name and an MD5 of the payload', () => {
    expect(idempotencyKey('fn', 'user_events-0-0')).toMatch(/^fn#[0-9a-f]{32}$/);
    expect(idempotencyKey('fn', 'a')).not.toBe(idempotencyKey('fn', 'b'));
  });
});
