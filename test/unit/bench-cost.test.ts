import { describe, expect, it } from 'vitest';
import { closerScheduleMonthly, costOf, DEFAULT_ASSUMPTIONS, eventsPerMonth, invocationMs, PRICES, type CloserInputs, type DesignInputs } from '../../bench/cost.ts';

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
    const monthly = closerScheduleMonthly(DEFAULT_ASSUMPTIONS, PRICES, 100);
    expect(monthly).toBeCloseTo((43_200 / 1e6) * 0.2 + 43_200 * 0.1 * 0.5 * PRICES.lambdaArmPerGbSecond, 4);
  });

  it('states its prices with the date they were checked', () => {
    expect(PRICES.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(PRICES.dynamoPerMillionWriteUnits).toBe(0.625);
    expect(PRICES.dynamoPerMillionReadUnits).toBe(0.125);
    expect(PRICES.lambdaArmPerGbSecond).toBe(0.0000133334);
  });
});
