/** Alert latency (local/latency): percentiles, matching alerts with their due moments, and the replay that finds them. */
import { describe, expect, it } from 'vitest';
import { alertKey, firstPassEnd, formatPercentiles, measureLatency, percentiles, recordedAlertOf, type LatencyInputs, type RecordedAlert } from '../../local/latency/latency.ts';
import { findTriggers, type SentRecord } from '../../local/latency/triggers.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { defaultRules } from '../../lib/rules/defaults.ts';

describe('percentiles', () => {
  it('takes nearest ranks: the smallest value with at least p of the sample at or below it', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(xs)).toEqual({ n: 100, p50: 50, p95: 95, max: 100 });
    expect(percentiles([7])).toEqual({ n: 1, p50: 7, p95: 7, max: 7 });
    expect(percentiles([3, 1, 2])).toEqual({ n: 3, p50: 2, p95: 3, max: 3 });
    expect(percentiles([])).toBeUndefined();
  });

  it('formats a sample, and a dash for none', () => {
    expect(formatPercentiles({ n: 3, p50: 2.4, p95: 3, max: 3 })).toBe('2 / 3 / 3 ms (n=3)');
    expect(formatPercentiles(undefined)).toBe('-');
  });
});

const alert = (over: Partial<RecordedAlert>): RecordedAlert => ({
  id: 'a',
  pipeline: 'payments',
  key: 'u1',
  windowStart: 0,
  windowEnd: 300_000,
  rule: 'payments-spree',
  timing: 'close',
  recordedAt: 10_000,
  ...over,
});

const inputs = (over: Partial<LatencyInputs>): LatencyInputs => ({
  alerts: [],
  triggerOf: () => undefined,
  watermarkPassedAt: () => undefined,
  receivedAt: new Map(),
  closerRunStarts: [],
  scheduleIntervalMs: 2_000,
  ...over,
});

describe('measureLatency', () => {
  it('times an early alert from the produce time of the record that made its rule true, to its record and to Kafka', () => {
    const a = alert({ id: 'e1', timing: 'early', recordedAt: 5_400 });
    const r = measureLatency(inputs({ alerts: [a], triggerOf: (x) => (x === a ? { producedAt: 5_000 } : undefined), receivedAt: new Map([['e1', 5_900]]) }));
    expect(r.alerts).toEqual([{ id: 'e1', timing: 'early', basis: 'trigger', dueAt: 5_000, toRecordMs: 400, toKafkaMs: 900 }]);
    expect(r.early.split).toEqual({ toInvocation: undefined, invocationToRecord: undefined });
    expect(r.early.toRecord).toEqual({ n: 1, p50: 400, p95: 400, max: 400 });
    expect(r.early.toKafka?.p50).toBe(900);
    expect(r.close.toRecord).toBeUndefined();
  });

  it("splits an early alert's latency at the start of the invocation that carried its trigger", () => {
    const a = alert({ id: 'e1', timing: 'early', recordedAt: 5_400 });
    const b = alert({ id: 'e2', timing: 'early', recordedAt: 9_000, key: 'u2' });
    const r = measureLatency(inputs({ alerts: [a, b], triggerOf: (x) => (x === a ? { producedAt: 5_000, invokedAt: 5_100 } : { producedAt: 8_000 }) }));
    expect(r.alerts.map((x) => [x.id, x.toRecordMs, x.toInvocationMs])).toEqual([
      ['e1', 400, 100],
      ['e2', 1_000, undefined],
    ]);
    // Only the alert whose invocation is known is split; both are timed.
    expect(r.early.toRecord?.n).toBe(2);
    expect(r.early.split).toEqual({ toInvocation: { n: 1, p50: 100, p95: 100, max: 100 }, invocationToRecord: { n: 1, p50: 300, p95: 300, max: 300 } });
  });

  it('times an at-close alert from the watermark passing its window end, and counts it within the schedule interval or not', () => {
    const passed = (pipeline: string, end: number) => (pipeline === 'payments' && end === 300_000 ? 8_000 : pipeline === 'iot' ? 1_000 : undefined);
    const r = measureLatency(
      inputs({
        alerts: [alert({ id: 'c1', recordedAt: 9_500 }), alert({ id: 'c2', pipeline: 'iot', recordedAt: 4_000 })],
        watermarkPassedAt: passed,
        receivedAt: new Map([['c1', 9_700]]),
      }),
    );
    expect(r.alerts.map((a) => [a.id, a.basis, a.toRecordMs, a.toKafkaMs])).toEqual([
      ['c1', 'watermark', 1_500, 1_700],
      ['c2', 'watermark', 3_000, undefined],
    ]);
    expect(r.close).toMatchObject({ fromWatermark: 2, withinInterval: 1, fromCloserRun: 0, scheduleIntervalMs: 2_000 });
    expect(r.close.toKafka?.n).toBe(1);
  });

  it('times every closed window from the watermark passing its end to its close, leaving out those the records never passed', () => {
    const r = measureLatency(
      inputs({
        watermarkPassedAt: (pipeline) => (pipeline === 'iot' ? 1_000 : undefined),
        closedWindows: [
          { pipeline: 'iot', windowEnd: 60_000, closedAt: 2_500 },
          { pipeline: 'iot', windowEnd: 120_000, closedAt: 4_000 },
          { pipeline: 'payments', windowEnd: 300_000, closedAt: 9_000 },
        ],
      }),
    );
    expect(r.close.windows).toEqual({ toClose: { n: 2, p50: 1_500, p95: 3_000, max: 3_000 }, withinInterval: 1 });
  });

  it('gives a window stored at t the end of the first closer pass that started at or after t, and none after the last', () => {
    const passes = [
      { startedAt: 1_000, endedAt: 1_300 },
      { startedAt: 1_500, endedAt: 4_000 },
      { startedAt: 4_200, endedAt: 4_400 },
    ];
    expect(firstPassEnd(passes, 900)).toBe(1_300);
    expect(firstPassEnd(passes, 1_000)).toBe(1_300);
    // Stored while a pass ran: that pass may have read the marks before; the next one must act.
    expect(firstPassEnd(passes, 1_001)).toBe(4_000);
    expect(firstPassEnd(passes, 4_201)).toBeUndefined();
  });

  it('judges at-close alerts and windows by the first pass after their marks were stored: late, never closed, and not yet due', () => {
    const stored = (pipeline: string, end: number) => (pipeline === 'iot' ? end / 100 : undefined);
    const r = measureLatency(
      inputs({
        // iot windows ending 60,000 / 120,000 / 180,000 / 600,000 have their marks stored at 600 / 1,200 / 1,800 / 6,000.
        watermarkStoredAt: stored,
        closerPasses: [
          { startedAt: 1_500, endedAt: 2_000 },
          { startedAt: 500, endedAt: 1_000 },
        ],
        alerts: [
          alert({ id: 'on-time', pipeline: 'iot', windowEnd: 60_000, recordedAt: 900 }),
          alert({ id: 'late', pipeline: 'iot', windowEnd: 120_000, recordedAt: 2_100 }),
          // Early alerts are not the closer's to judge; a pipeline without stored marks is not judged.
          alert({ id: 'early', pipeline: 'iot', windowEnd: 60_000, timing: 'early', recordedAt: 5_000 }),
          alert({ id: 'unknown', recordedAt: 9_000 }),
        ],
        closedWindows: [
          { pipeline: 'iot', windowEnd: 60_000, closedAt: 950 },
          // No pass started after its marks were stored, but it closed: it met any deadline.
          { pipeline: 'iot', windowEnd: 180_000, closedAt: 1_900 },
        ],
        openWindows: [
          { pipeline: 'iot', windowEnd: 120_000 },
          // Stored after the last pass started: not yet due, left out.
          { pipeline: 'iot', windowEnd: 600_000 },
        ],
      }),
    );
    expect(r.close.firstPass).toEqual({
      alerts: { judged: 2, within: 1 },
      windows: { judged: 3, within: 2, neverClosed: 1 },
      passes: 2,
      passMs: { n: 2, p50: 500, p95: 500, max: 500 },
    });
    expect(measureLatency(inputs({})).close.firstPass).toBeUndefined();
  });

  it('falls back to the closer run that closed it when no produced record carried the watermark past (the stream went idle)', () => {
    const r = measureLatency(inputs({ alerts: [alert({ recordedAt: 50_300 })], closerRunStarts: [52_000, 48_000, 50_000] }));
    expect(r.alerts[0]).toMatchObject({ basis: 'closer-run', dueAt: 50_000, toRecordMs: 300 });
    expect(r.close).toMatchObject({ fromWatermark: 0, withinInterval: 0, fromCloserRun: 1 });
  });

  it('counts as unmatched, and does not time, an alert whose due moment cannot be found', () => {
    const r = measureLatency(inputs({ alerts: [alert({ timing: 'early' }), alert({ id: 'b', recordedAt: 1 })], closerRunStarts: [5] }));
    expect(r.alerts).toEqual([]);
    expect(r.early.unmatched).toBe(1);
    expect(r.close.unmatched).toBe(1);
  });
});

describe('recordedAlertOf', () => {
  const item = { pk: 'alert#x', sk: 'alert', id: 'x', pipeline: 'iot', rule: 'iot-out-of-range', windowKey: 's1', windowStart: 0, windowEnd: 60_000, raisedAt: 70_000 };
  it('reads an alert written before early alerts existed as at close, timed by raisedAt', () => {
    expect(recordedAlertOf(item)).toEqual({ id: 'x', pipeline: 'iot', key: 's1', windowStart: 0, windowEnd: 60_000, rule: 'iot-out-of-range', timing: 'close', recordedAt: 70_000 });
  });
  it('reads an early alert by its firedAt, with what fired it', () => {
    expect(recordedAlertOf({ ...item, timing: 'early', firedAt: 30_000, firedBy: { partitionId: 'iot_telemetry-0', offset: 4 } })).toMatchObject({ timing: 'early', recordedAt: 30_000, firedBy: { partitionId: 'iot_telemetry-0', offset: 4 } });
    expect(recordedAlertOf({ ...item, timing: 'early', firedAt: 30_000, firedBy: { partitionId: 'iot_telemetry-0' } })?.firedBy).toBeUndefined();
    expect(recordedAlertOf({ ...item, timing: 'close' })?.timing).toBe('close');
  });
  it('skips an item that is not an alert', () => {
    expect(recordedAlertOf({ pk: 'result#iot#s1', sk: '0', level: 'LOW' })).toBeUndefined();
  });
});

describe('findTriggers', () => {
  const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
  const payment = (i: number, eventTime: number, userId = 7): SentRecord => ({
    topic: 'user_events',
    partition: 0,
    offset: i,
    key: String(userId),
    value: JSON.stringify({ user_id: userId, event_type: 'payment', amount: 5, event_time: new Date(eventTime).toISOString() }),
    timestamp: eventTime,
    producedAt: 1_000 + i,
  });
  const options = { pipelines: builtinPipelines, rules: defaultRules, watermarkDelayMs: 10_000, partitions: { user_events: 1 } };

  it('notes the produce time of the record after which the rule first holds (count > 10: the 11th payment)', async () => {
    // Out of order within the window: the 11th record decides whatever its event time.
    const records = Array.from({ length: 14 }, (_, i) => payment(i, T0 + 1_000 + ((i * 7_919) % 60_000)));
    const { triggers, triggerOf } = await findTriggers(records, options);
    expect(triggers.get(alertKey('payments', '7', T0, 'payments-spree'))).toEqual({ producedAt: 1_010 });
    expect(triggers.size).toBe(1);
    const early = { id: 'x', pipeline: 'payments', key: '7', windowStart: T0, windowEnd: T0 + 300_000, rule: 'payments-spree', timing: 'early' as const, recordedAt: 2_000 };
    expect(triggerOf(early)).toEqual({ producedAt: 1_010 });
    expect(triggerOf({ ...early, key: '8' })).toBeUndefined();
  });

  it('does not count a late record, and tells when the watermark passed a window end', async () => {
    const records = [
      ...Array.from({ length: 10 }, (_, i) => payment(i, T0 + 1_000 + i)),
      // Carries the watermark to T0 + 5 min + 1 s, past the window's end.
      payment(10, T0 + 5 * 60_000 + 11_000, 8),
      // The 11th payment of user 7 in the first window, now late: no alert is due.
      payment(11, T0 + 2_000),
    ];
    const found = await findTriggers(records, options);
    expect(found.triggers.get(alertKey('payments', '7', T0, 'payments-spree'))).toBeUndefined();
    expect(found.triggers.size).toBe(0);
    expect(found.watermarkPassedAt('payments', T0 + 5 * 60_000)).toBe(1_010);
    expect(found.watermarkPassedAt('payments', T0 + 10 * 60_000)).toBeUndefined();
    expect(found.watermarkPassedAt('iot', T0)).toBeUndefined();
  });

  it('has no watermark for a topic until every partition has shown an event', async () => {
    const found = await findTriggers([payment(0, T0 + 20 * 60_000)], { ...options, partitions: { user_events: 2 } });
    expect(found.watermarkPassedAt('payments', T0)).toBeUndefined();
  });

  const registration = (i: number, eventTime: number, ip = '10.0.0.1'): SentRecord => ({
    topic: 'user_registrations',
    partition: 0,
    offset: i,
    key: ip,
    value: JSON.stringify({ user_id: 1_000 + i, ip_address: ip, event_time: new Date(eventTime).toISOString() }),
    timestamp: eventTime,
    producedAt: 5_000 + i,
    invokedAt: 5_500 + i,
  });
  const hopping = { ...options, partitions: { user_registrations: 1 } };
  const MIN = 60_000;

  it("times a hopping group's alert from the record after which any window of its group first matched, whichever window its record names", async () => {
    // 21 sign-ups from one IP (registrations > 20) in 10:00-10:04, in order: the 21st makes the
    // windows ending 10:05 to 10:10 match (10 min, every 1 min); windows starting 10:00 and after
    // share the group of 10:00 (cooldown = the window size), those before it the group of 9:50.
    const H = T0 - 2 * 3_600_000;
    const records = Array.from({ length: 21 }, (_, i) => registration(i, H + 1_000 + i * 12_000));
    const { triggers, triggerOf } = await findTriggers(records, hopping);
    const alertOf = (windowStart: number) => ({ id: 'g', pipeline: 'registrations', key: '10.0.0.1', windowStart, windowEnd: windowStart + 10 * MIN, rule: 'registrations-suspicious-ip', timing: 'early' as const, recordedAt: 9_000 });
    expect(triggers.get(alertKey('registrations', '10.0.0.1', H, 'registrations-suspicious-ip'))).toEqual({ producedAt: 5_020, invokedAt: 5_520 });
    expect(triggers.get(alertKey('registrations', '10.0.0.1', H - 10 * MIN, 'registrations-suspicious-ip'))).toEqual({ producedAt: 5_020, invokedAt: 5_520 });
    // The group's record may name any of its windows: all are timed from the same record.
    expect(triggerOf(alertOf(H))).toEqual({ producedAt: 5_020, invokedAt: 5_520 });
    expect(triggerOf(alertOf(H + 3 * MIN))).toEqual({ producedAt: 5_020, invokedAt: 5_520 });
    expect(triggerOf(alertOf(H - 5 * MIN))).toEqual({ producedAt: 5_020, invokedAt: 5_520 });
    // Twenty are not enough: no window matched before the 21st.
    const fewer = await findTriggers(records.slice(0, 20), hopping);
    expect(fewer.triggers.size).toBe(0);
    expect(fewer.triggerOf(alertOf(H))).toBeUndefined();
  });

  it("times a sequence alert from its completing event, named by the record's firedBy", async () => {
    const records = [payment(0, T0 + 1_000), { ...payment(1, T0 + 2_000), invokedAt: 1_500 }];
    const { triggerOf } = await findTriggers(records, options);
    const seq = { id: 'seq-1', pipeline: 'sequence', key: '7', windowStart: T0, windowEnd: T0 + 2_000, rule: 'new-device-payment', timing: 'early' as const, recordedAt: 3_000 };
    expect(triggerOf({ ...seq, firedBy: { partitionId: 'user_events-0', offset: 1 } })).toEqual({ producedAt: 1_001, invokedAt: 1_500 });
    expect(triggerOf({ ...seq, firedBy: { partitionId: 'user_events-0', offset: 7 } })).toBeUndefined();
    expect(triggerOf(seq)).toBeUndefined();
  });
});
