import { describe, expect, it } from 'vitest';
import { measureBatching, pacedBatches } from '../../bench/batching.ts';
import { BATCHING_SETTINGS } from '../../bench/cost-rates.ts';
import { defaultMappings } from '../../lib/config/deployment.ts';
import { effectiveBatchingWindowS } from '../../local/esm/config.ts';
import { closerScheduleMonthly, costOf, DEFAULT_ASSUMPTIONS, eventsPerMonth, invocationMs, PRICES, type CloserInputs, type DesignInputs } from '../../bench/cost.ts';
import { crossover, DEFAULT_MONTHLY_ASSUMPTIONS, dispatcherMonthly, HOURS_PER_MONTH, managedFlinkMonthly, monthlyCost, MONTHLY_PRICES, pollersMonthly, provisionedCapacityMonthly, type MonthlyCost, type UsageAtRate } from '../../bench/cost-monthly.ts';
import type { RecordInput } from '../../lib/codec/encode.ts';

const design: DesignInputs = { name: 'd', cpuEventsPerSec: 500_000, writeRequestsPerEvent: 0.64, writeUnitsPerEvent: 1.2, readRequestsPerEvent: 0, readUnitsPerEvent: 0 };
const noCloser: CloserInputs = { windowsPerEvent: 0, requestsPerWindow: 0, writeUnitsPerWindow: 0, readUnitsPerWindow: 0 };
const a = { ...DEFAULT_ASSUMPTIONS, ingestMemoryMB: 1769, batchSize: 500, writeConcurrency: 32, dynamoLatencyMs: 5 };

describe('bench cost model', () => {
  it('bills a batch its CPU time at the vCPU share plus its writes in waves of the concurrency', () => {
    // 500 events at 500k/s = 1 ms on a full vCPU; 320 writes / 32 = 10 waves of 5 ms.
    expect(invocationMs(design, a)).toBeCloseTo(1 + 50, 6);
    // At 1024 MB the function gets 1024/1769 of a vCPU: the CPU part stretches, the waits do not.
    expect(invocationMs(design, { ...a, ingestMemoryMB: 1024 })).toBeCloseTo(1769 / 1024 + 50, 6);
    // A read before planning is one more round trip.
    expect(invocationMs({ ...design, readRequestsPerEvent: 1 / 500 }, a)).toBeCloseTo(1 + 55, 6);
  });

  it('prices a million events from units per event at the published prices', () => {
    const c = costOf(1e6, design, noCloser, a, PRICES);
    expect(c.invocations).toBe(2000);
    // 1.2 WCU per event: 1.2 million write request units at $0.625 per million.
    expect(c.dynamoWrites).toBeCloseTo(0.75, 6);
    expect(c.dynamoReads).toBe(0);
    expect(c.lambdaRequests).toBeCloseTo(0.0004, 6);
    // 2000 invocations x 51 ms x 1769/1024 GB.
    expect(c.gbSeconds).toBeCloseTo(+(2000 * 0.051 * (1769 / 1024)).toFixed(1), 1);
    expect(c.lambdaCompute).toBeCloseTo(2000 * 0.051 * (1769 / 1024) * PRICES.lambdaArmPerGbSecond, 4);
    expect(c.total).toBeCloseTo(c.lambdaCompute + c.lambdaRequests + c.dynamoWrites + c.dynamoReads, 4);
  });

  it('adds the closer: its units per window times the windows the events make', () => {
    const closer: CloserInputs = { windowsPerEvent: 0.1, requestsPerWindow: 2, writeUnitsPerWindow: 3, readUnitsPerWindow: 0.5 };
    const c = costOf(1e6, design, closer, a, PRICES);
    // 100k windows: 300k WCU and 50k RCU.
    expect(c.closerDynamo).toBeCloseTo(0.3 * 0.625 + 0.05 * 0.125, 6);
    // 200k requests x 5 ms / 16 in flight = 62.5 s at 0.5 GB.
    expect(c.closerLambda).toBeCloseTo(62.5 * 0.5 * PRICES.lambdaArmPerGbSecond, 4);
  });

  it('counts a month as 30 days and the closer schedule as one run a minute', () => {
    expect(eventsPerMonth(1000)).toBe(2_592_000_000);
    const onePass = closerScheduleMonthly({ ...DEFAULT_ASSUMPTIONS, closerSessionSeconds: 0 }, PRICES, 100);
    expect(onePass).toBeCloseTo((43_200 / 1e6) * 0.2 + 43_200 * 0.1 * 0.5 * PRICES.lambdaArmPerGbSecond + (43_200 * 4 * (0.125 + 0.625)) / 1e6, 4);
    // A 50 s session, a pass every 5 s: 11 passes a minute, billed 50 s a minute.
    const session = closerScheduleMonthly(DEFAULT_ASSUMPTIONS, PRICES, 100);
    expect(session).toBeCloseTo((43_200 / 1e6) * 0.2 + 43_200 * 50 * 0.5 * PRICES.lambdaArmPerGbSecond + (43_200 * 11 * 4 * (0.125 + 0.625)) / 1e6, 4);
    expect(session).toBeGreaterThan(14);
    expect(session).toBeLessThan(16);
  });

  it('states its prices with the date they were checked', () => {
    expect(PRICES.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(PRICES.dynamoPerMillionWriteUnits).toBe(0.625);
    expect(PRICES.dynamoPerMillionReadUnits).toBe(0.125);
    expect(PRICES.lambdaArmPerGbSecond).toBe(0.0000133334);
  });
});

describe('bench cost against the rate', () => {
  const usage: UsageAtRate = {
    eventsPerSec: 100,
    ingestLambdaPerEvent: 1e-8,
    writeUnitsPerEvent: 2,
    readUnitsPerEvent: 0,
    windowsPerEvent: 0.5,
    closerWriteUnitsPerWindow: 3,
    closerReadUnitsPerWindow: 0,
    closerLambdaPerWindow: 0,
    closerScheduleMonthly: 0,
    alertsPerWindow: 0,
  };

  it('prices on-demand tables per unit and provisioned ones per unit-hour at the utilisation target', () => {
    const c = monthlyCost(usage, { ...DEFAULT_MONTHLY_ASSUMPTIONS, provisionedUtilization: 0.5 });
    const events = 100 * 720 * 3600;
    // 2 WCU per event and 0.5 windows x 3 WCU: 3.5 WCU per event.
    expect(c.onDemand).toBeCloseTo(events * 1e-8 + ((events * 3.5) / 1e6) * PRICES.dynamoPerMillionWriteUnits, 1);
    // 350 WCU/s mean at 50% utilisation: 700 WCU provisioned, plus the RCU floor.
    const provisioned = (700 * MONTHLY_PRICES.dynamoPerWcuHour + 5 * MONTHLY_PRICES.dynamoPerRcuHour) * HOURS_PER_MONTH;
    expect(c.provisionedTables).toBeCloseTo(events * 1e-8 + provisioned, 1);
  });

  it('keeps a floor of capacity on every provisioned table', () => {
    expect(provisionedCapacityMonthly(0, 0)).toBeCloseTo(5 * (MONTHLY_PRICES.dynamoPerWcuHour + MONTHLY_PRICES.dynamoPerRcuHour) * HOURS_PER_MONTH, 6);
  });

  it('bills provisioned pollers in whole event poller units of ten', () => {
    expect(pollersMonthly(3)).toBeCloseTo(0.185 * 720, 6);
    expect(pollersMonthly(11)).toBeCloseTo(2 * 0.185 * 720, 6);
  });

  it('gives Managed Flink at least one KPU plus the orchestration KPU, and more with the rate', () => {
    expect(managedFlinkMonthly(10)).toEqual({ kpus: 1, monthly: 2 * 0.11 * 720 + 50 * 0.1 });
    expect(managedFlinkMonthly(25_000, { ...DEFAULT_MONTHLY_ASSUMPTIONS, flinkEventsPerSecPerKpu: 10_000 }).kpus).toBe(3);
  });

  it('prices the dispatcher per alert', () => {
    expect(dispatcherMonthly(1e6)).toBeCloseTo(0.2 + 1e6 * 0.05 * 0.25 * PRICES.lambdaArmPerGbSecond, 6);
  });

  it('finds where a curve crosses Flink on a log scale, or says it does not', () => {
    const point = (eventsPerSec: number, onDemand: number): MonthlyCost => ({ eventsPerSec, onDemand, provisionedTables: onDemand, provisionedPollers: 0, managedFlink: 100, flinkKpus: 1 });
    // 50 below at 10/s, 900 above at 1000/s: crosses at t = 50/950 of the two decades.
    expect(crossover([point(10, 50), point(1000, 1000)], (c) => c.onDemand)).toBe(Math.round(10 ** (1 + 2 * (50 / 950))));
    expect(crossover([point(10, 50), point(1000, 90)], (c) => c.onDemand)).toBeUndefined();
  });
});

describe('bench batching', () => {
  const records = (n: number, topic = 't'): RecordInput[] => Array.from({ length: n }, (_, i) => ({ topic, partition: 0, offset: i, value: {}, key: null, timestamp: i }));

  it('sends a batch when it is full', () => {
    const batches = [...pacedBatches(records(10), 100, { batchSize: 4, batchingWindowS: 10 })];
    expect(batches.map((b) => b.records.length)).toEqual([4, 4, 2]);
    // The first record of a full batch waited for three more at 100/s.
    expect(batches[0]!.waitS).toBeCloseTo(0.03, 9);
  });

  it('sends a batch when the window since its first record has passed', () => {
    // 10 records/s, a 0.5 s window: batches of 5.
    const batches = [...pacedBatches(records(12), 10, { batchSize: 100, batchingWindowS: 0.5 })];
    expect(batches.map((b) => b.records.length)).toEqual([5, 5, 2]);
    expect(batches[0]!.waitS).toBe(0.5);
  });

  it('keeps one open batch per topic, as one mapping per topic does', () => {
    const mixed = records(6).map((r, i) => ({ ...r, topic: i % 2 ? 'a' : 'b' }));
    const batches = [...pacedBatches(mixed, 1, { batchSize: 3, batchingWindowS: 100 })];
    expect(batches.map((b) => new Set(b.records.map((r) => r.topic)).size)).toEqual([1, 1]);
  });

  it('rejects a rate or batch size that cannot pace', () => {
    expect(() => [...pacedBatches(records(1), 0, { batchSize: 1, batchingWindowS: 1 })]).toThrow(/eventsPerSec/);
    expect(() => [...pacedBatches(records(1), 1, { batchSize: 0, batchingWindowS: 1 })]).toThrow(/batchSize/);
  });

  it("prices the stack's own mapping setting, an unset window as AWS's 500 ms", () => {
    const d = defaultMappings[0]!;
    const setting = { batchSize: d.batchSize, batchingWindowS: effectiveBatchingWindowS(d.maxBatchingWindow) };
    expect(BATCHING_SETTINGS).toContainEqual(setting);
    // At 100/s per mapping a 0.5 s window cuts batches of 50 where 1 s cut 100, and waits half as long.
    const half = measureBatching(100, { batchSize: 500, batchingWindowS: 0.5 }, 'uniform', 10);
    const whole = measureBatching(100, { batchSize: 500, batchingWindowS: 1 }, 'uniform', 10);
    expect(half.maxWaitS).toBe(0.5);
    expect(whole.maxWaitS).toBe(1);
    expect(half.batches).toBeGreaterThan(whole.batches);
    expect(half.writeRequestsPerEvent).toBeGreaterThanOrEqual(whole.writeRequestsPerEvent);
  });

  it('writes fewer requests per event with larger batches of the same traffic', () => {
    const small = measureBatching(1000, { batchSize: 10, batchingWindowS: 1 }, 'skewed', 5);
    const large = measureBatching(1000, { batchSize: 5000, batchingWindowS: 1 }, 'skewed', 5);
    expect(small.meanBatch).toBe(10);
    expect(large.writeRequestsPerEvent).toBeLessThan(small.writeRequestsPerEvent);
  });
});
