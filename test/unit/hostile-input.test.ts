/**
 * Hostile input at the pure half of ingest (issue 11, items 2, 3, 7 and 8): each bad record is
 * quarantined with a reason that says what is wrong, and nothing else is touched.
 */
import { describe, expect, it } from 'vitest';
import { encodeKafkaEvent, encodeRecord, type RecordInput } from '../../lib/codec/encode.ts';
import { decodeKafkaEvent, decodeKafkaEventChecked, type KafkaEvent } from '../../lib/codec/kafka-event.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import { planBatch, type PlanOptions } from '../../lib/ingest/plan.ts';
import { createRouter } from '../../lib/ingest/router.ts';
import { builtinPipelines, iot, payments, risk } from '../../lib/pipelines/builtin.ts';
import { telemetry, userEvents } from '../../lib/schemas/events.ts';

const router = createRouter(builtinPipelines);
const T = Date.parse('2026-11-23T10:00:00Z');
const MIN = 60_000;
const options: PlanOptions = { maxRecordBytes: 64 * 1024, maxEventAheadMs: 5 * MIN, lateness: { delayMs: 10 * MIN, marks: new Map() } };

const payment = (offset: number, fields: Record<string, unknown>): RecordInput => ({
  topic: 'user_events',
  partition: 0,
  offset,
  timestamp: T,
  value: { user_id: 1, action: 'payment', amount: 1, timestamp: T, ...fields },
});

const plan = (records: RecordInput[], o: PlanOptions = options) => planBatch(decodeKafkaEvent(encodeKafkaEvent(records)), router, o);
const reasonAt = (p: ReturnType<typeof plan>, offset: number) => p.sideRecords.find((r) => r.offset === offset)?.reason;

describe('future-dated and unrepresentable event times (item 2)', () => {
  it('quarantines an event too far ahead of its Kafka timestamp, naming both times, and keeps it out of the watermark', () => {
    const p = plan([
      payment(0, {}),
      payment(1, { timestamp: Date.parse('2100-01-01T00:00:00Z') }),
      payment(2, { timestamp: T + 30 * 24 * 60 * MIN }),
      payment(3, { timestamp: T + 5 * MIN }), // at the bound: accepted
      payment(4, { timestamp: T + 5 * MIN + 1 }),
      payment(5, { timestamp: T + MIN }),
    ]);
    expect(reasonAt(p, 1)).toBe(
      'event time 2100-01-01T00:00:00.000Z is 73.1 years ahead of the record\'s Kafka timestamp 2026-11-23T10:00:00.000Z, more than the 300000 ms allowed (MAX_EVENT_AHEAD_MS)',
    );
    expect(reasonAt(p, 2)).toMatch(/^event time 2026-12-23T10:00:00.000Z is 30.0 days ahead of the record's Kafka timestamp 2026-11-23T10:00:00.000Z/);
    expect(reasonAt(p, 4)).toMatch(/is 5.0 min ahead/);
    expect(p.sideRecords.map((r) => r.offset)).toEqual([1, 2, 4]);
    // No quarantined time reaches the partition's progress: the watermark sees T + 5 min at most.
    expect(Math.max(...p.partitions[0]!.eventTimes)).toBe(T + 5 * MIN);
    expect(p.stats).toMatchObject({ valid: 3, quarantined: 3, late: 0 });
  });

  it('does not poison the partition: the records after a 2100 event are on time', () => {
    const records = [payment(0, { timestamp: Date.parse('2100-01-01T00:00:00Z') }), ...Array.from({ length: 5 }, (_, i) => payment(i + 1, { timestamp: T + i * 1000 }))];
    const p = plan(records);
    expect(p.stats).toMatchObject({ valid: 5, quarantined: 1, late: 0 });
    expect(p.aggregates.find((a) => a.pipeline === payments)!.delta.events).toBe(5);
  });

  it('bounds only records that have a Kafka timestamp, and is judged from the record, not the clock', () => {
    const { timestamp: _, ...ahead } = payment(0, { timestamp: T + 60 * MIN });
    expect(plan([ahead]).stats.quarantined).toBe(0);
    expect(plan([{ ...ahead, timestamp: T }]).stats.quarantined).toBe(1);
    expect(plan([{ ...ahead, timestamp: T }], { ...options, maxEventAheadMs: undefined }).stats.quarantined).toBe(0);
  });

  it('reads the bound from MAX_EVENT_AHEAD_MS, 5 minutes by default, and fails at cold start naming it when invalid', () => {
    const tables = { WINDOWS_TABLE: 'windows', STATE_TABLE: 'state', SIDE_OUTPUT_TABLE: 'side' };
    expect(loadIngestConfig(tables).maxEventAheadMs).toBe(300_000);
    expect(loadIngestConfig({ ...tables, MAX_EVENT_AHEAD_MS: '60000' }).maxEventAheadMs).toBe(60_000);
    for (const bad of ['soon', '-1', '86400001']) expect(() => loadIngestConfig({ ...tables, MAX_EVENT_AHEAD_MS: bad })).toThrow(/MAX_EVENT_AHEAD_MS/);
  });

  it('quarantines event times no Date or DynamoDB number can hold, at the schema', () => {
    for (const [t, why] of [
      [Number.MAX_SAFE_INTEGER, /after 9999-12-31T23:59:59.999Z/],
      [1e300, /after 9999-12-31T23:59:59.999Z/],
      ['1' + '0'.repeat(30), /after 9999-12-31T23:59:59.999Z/],
      [253402300800000, /after 9999-12-31T23:59:59.999Z/],
    ] as const) {
      const parsed = userEvents.parse({ user_id: 1, action: 'login', timestamp: t });
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.reason).toMatch(why);
      // Without the skew bound, the schema still refuses it.
      expect(plan([payment(0, { timestamp: t })], { ...options, maxEventAheadMs: undefined }).stats.quarantined).toBe(1);
    }
    expect(userEvents.parse({ user_id: 1, action: 'login', timestamp: 253402300799999 }).ok).toBe(true);
  });
});

describe('numbers DynamoDB cannot store, and exact sums (item 3)', () => {
  it('quarantines the record with an overflowing or underflowing number, and only that record', () => {
    const p = plan([payment(0, { amount: 2 }), payment(1, { amount: 1e300 }), payment(2, { amount: 1e-200 }), payment(3, { amount: '-1e-7' }), payment(4, { amount: 3 })]);
    expect(reasonAt(p, 1)).toBe('field "amount": must be a finite number within ±1000000000000000');
    expect(reasonAt(p, 2)).toBe('field "amount": 1e-200 is not 0 but rounds to 0 at the 6 decimal places kept (underflow)');
    expect(reasonAt(p, 3)).toMatch(/underflow/);
    const agg = p.aggregates.find((a) => a.pipeline === payments)!;
    expect(agg.delta.values).toEqual([2, 5_000_000]);
  });

  it('rounds numbers to six decimal places, half away from zero', () => {
    const reading = (temperature: unknown) => telemetry.parse({ device_id: 'd', temperature, humidity: 50, timestamp: T });
    expect(reading(0.1 + 0.2)).toMatchObject({ ok: true, event: { temperature: 0.3 } });
    expect(reading(21.1234565)).toMatchObject({ ok: true, event: { temperature: 21.123457 } });
    expect(reading(-21.1234565)).toMatchObject({ ok: true, event: { temperature: -21.123457 } });
    expect(reading('0.0000005')).toMatchObject({ ok: true, event: { temperature: 0.000001 } });
    expect(reading(0)).toMatchObject({ ok: true, event: { temperature: 0 } });
  });

  it('sums to the same total however the batches were cut (0.1 + 0.2)', () => {
    const values = [0.1, 0.2, 0.7, 1e9 + 0.000001, 0.3, 2.675];
    const records = values.map((amount, i) => payment(i, { amount }));
    const whole = plan(records).aggregates.find((a) => a.pipeline === payments)!.delta.values[1] as number;
    let cut = 0;
    for (const r of records) cut += plan([r]).aggregates.find((a) => a.pipeline === payments)!.delta.values[1] as number;
    expect(whole).toBe(cut);
    expect(payments.features.amount!.read('amount', { 'amount.e6': whole })).toBe(1_000_000_003.975001);
  });
});

describe('envelopes the handler cannot parse (item 7)', () => {
  const event = (records: unknown): KafkaEvent => ({ eventSource: 'aws:kafka', records: records as KafkaEvent['records'] });
  const good = (offset: number) => encodeRecord(payment(offset, {}));

  it('quarantines a value that is not a string, and reads the rest of its partition', () => {
    const decoded = decodeKafkaEvent(event({ 'user_events-0': [good(0), { ...good(1), value: 42 }, { ...good(2), value: { a: 1 } }, good(3)] }));
    const p = planBatch(decoded, router, options);
    expect(reasonAt(p, 1)).toBe('value is 42, not base64 text');
    expect(reasonAt(p, 2)).toBe('value is {"a":1}, not base64 text');
    expect(p.stats).toMatchObject({ valid: 2, quarantined: 2 });
  });

  it('sets aside records whose partition or offset is not a number, with the coordinates they have', () => {
    const { partitions, unplaceable } = decodeKafkaEventChecked(
      event({ 'user_events-0': [good(0), { ...good(1), offset: 'x' }, { ...good(2), partition: null }, 'junk', good(3)], 'user_events-9': { not: 'a list' } }),
    );
    expect(partitions.map((p) => p.map((r) => r.offset))).toEqual([[0, 3]]);
    expect(unplaceable.map((r) => [r.topic, r.partition, r.offset, r.envelopeError])).toEqual([
      ['user_events', 0, -2, 'record 1 of "user_events-0": offset is "x", not a non-negative integer'],
      ['user_events', 0, 2, 'record 2 of "user_events-0": partition is null, not a non-negative integer'],
      ['user_events', 0, -4, 'record 3 of "user_events-0" is not an object'],
      ['user_events', 9, -1, 'record-map entry "user_events-9" is not a list of records'],
    ]);
  });

  it('merges one partition listed under two record-map keys, reading an offset listed twice once', () => {
    const [only, ...rest] = decodeKafkaEvent(event({ 'user_events-0': [good(2), good(0)], 'bogus-key': [good(1), good(2)] }));
    expect(rest).toEqual([]);
    expect(only!.map((r) => r.offset)).toEqual([0, 1, 2]);
  });

  it('quarantines base64 that is not base64 rather than decoding what is left of it', () => {
    const valid = encodeRecord(payment(0, {}));
    for (const [offset, value] of [
      [1, valid.value!.slice(0, -1)],
      [2, `${valid.value!.slice(0, 8)}!${valid.value!.slice(9)}`],
      [3, `${valid.value!.slice(0, 8)}\n${valid.value!.slice(8, -1)}`],
      [4, 'QQ==QUJD'],
    ] as const) {
      const p = planBatch(decodeKafkaEvent(event({ 'user_events-0': [{ ...valid, offset, value }] })), router, options);
      expect(reasonAt(p, offset), value).toBe('value is not valid base64 (padded, standard alphabet)');
    }
  });

  it('strips a UTF-8 byte-order mark and quarantines invalid UTF-8', () => {
    const json = JSON.stringify({ user_id: 1, action: 'payment', amount: 1, timestamp: T });
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]);
    const invalid = Buffer.concat([Buffer.from(json.slice(0, -2)), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const legit = Buffer.from(JSON.stringify({ user_id: 1, action: 'payment', amount: 1, timestamp: T, note: '\ufffd' }));
    const p = plan([
      { topic: 'user_events', partition: 0, offset: 0, timestamp: T, value: bom },
      { topic: 'user_events', partition: 0, offset: 1, timestamp: T, value: invalid },
      { topic: 'user_events', partition: 0, offset: 2, timestamp: T, value: legit },
    ]);
    expect(p.sideRecords.map((r) => [r.offset, r.reason])).toEqual([[1, 'value is not valid UTF-8']]);
    expect(p.stats.valid).toBe(2);
  });
});

describe('look-alike keys (item 8)', () => {
  it('counts NFC and NFD spellings as one user, and refuses invisible and control characters', () => {
    const user = (offset: number, user_id: string) => payment(offset, { user_id });
    const p = plan([user(0, 'jos\u00e9'), user(1, 'jose\u0301'), user(2, 'admin'), user(3, 'admin\u200b'), user(4, 'ad\u0000min'), user(5, '\u202eadmin'), user(6, 'admin\ud800')]);
    const keys = p.aggregates.filter((a) => a.pipeline === risk).map((a) => [a.key, a.delta.events]);
    expect(keys).toEqual([
      ['jos\u00e9', 2],
      ['admin', 1],
    ]);
    expect(reasonAt(p, 3)).toBe('field "user_id": contains an invisible format character U+200B at position 5; look-alike keys are refused, not merged');
    expect(reasonAt(p, 4)).toBe('field "user_id": contains a control character U+0000 at position 2; look-alike keys are refused, not merged');
    expect(reasonAt(p, 5)).toMatch(/invisible format character U\+202E/);
    expect(reasonAt(p, 6)).toBe('field "user_id": contains a lone surrogate U+D800 at position 5 (not valid Unicode text)');
  });

  it('normalises every name field, distinct values included', () => {
    const parsed = userEvents.parse({ user_id: 'u', action: 'login', device_id: 'cafe\u0301', location_city: 'S\u0061\u0303o Paulo', timestamp: T });
    expect(parsed).toMatchObject({ ok: true, event: { deviceId: 'caf\u00e9', city: 'S\u00e3o Paulo' } });
    const reading = telemetry.parse({ device_id: 'sensor\u00a01', temperature: 1, humidity: 1, timestamp: T });
    // A no-break space is visible text (Zs), kept as sent: only NFC is applied, not NFKC.
    expect(reading).toMatchObject({ ok: true, event: { deviceId: 'sensor\u00a01' } });
    expect(iot.keyOf({ deviceId: 'x' } as never)).toBe('x');
  });
});
