/** Real-time pacing (local/generator/pace.ts): the timeline shift, the rate, and disorder kept. */
import { describe, expect, it } from 'vitest';
import { generate, type GeneratedRecord } from '../../local/generator/generate.ts';
import { paceSchedule, realTimeGeneratorOptions, REAL_TIME_DEFAULTS, sleepUntil, takeDue } from '../../local/generator/pace.ts';

const START = Date.UTC(2026, 11, 1, 12, 0, 17, 250);
/** An on-time record's lag behind its stream time: the jitter, plus up to a second for whole-second time formats. */
const LAG_BOUND = REAL_TIME_DEFAULTS.maxJitterMs + 1000;

/** Records whose event time is below an earlier one of the same topic and key: out of order. */
function outOfOrder(records: readonly GeneratedRecord[]): number {
  const max = new Map<string, number>();
  let n = 0;
  for (const r of records) {
    if (r.eventTime === undefined) continue;
    const id = `${r.topic}|${r.key}`;
    if (r.eventTime < (max.get(id) ?? -Infinity)) n++;
    else max.set(id, r.eventTime);
  }
  return n;
}

describe('realTimeGeneratorOptions', () => {
  const options = realTimeGeneratorOptions({ rate: 200, seconds: 60, seed: 5, start: START });
  const { records, scenarios } = generate(options);

  it('makes rate x seconds records whose stream time starts at the start and advances at the rate', () => {
    expect(records).toHaveLength(12_000);
    expect(records[0]!.timestamp).toBe(START);
    // Stream time of record i is start + i / rate (a scenario record never before its event time).
    records.forEach((r, i) => {
      expect(r.timestamp! - (START + Math.floor((i * 1000) / 200))).toBeGreaterThanOrEqual(0);
      expect(r.timestamp! - (START + Math.floor((i * 1000) / 200))).toBeLessThanOrEqual(REAL_TIME_DEFAULTS.maxJitterMs);
    });
  });

  it('keeps every event time within the jitter behind its stream time, except late records, and never before the start', () => {
    for (const r of records) {
      if (r.eventTime === undefined) continue;
      expect(r.eventTime).toBeGreaterThanOrEqual(START);
      expect(r.eventTime).toBeLessThanOrEqual(r.timestamp!);
      if (!r.late) expect(r.timestamp! - r.eventTime).toBeLessThanOrEqual(LAG_BOUND);
    }
    // The jitter stays under the run's watermark delay, so on-time records cannot be judged late.
    expect(LAG_BOUND).toBeLessThan(options.watermarkDelayMs!);
  });

  it('injects scenarios to time, and keeps malformed and out-of-order records', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(5);
    expect(records.some((r) => r.malformed !== undefined)).toBe(true);
    expect(outOfOrder(records)).toBeGreaterThan(0);
  });

  it('produces late records once a run is long enough for a window to have closed behind the stream', () => {
    const long = generate(realTimeGeneratorOptions({ rate: 20, seconds: 600, seed: 5, start: START }));
    expect(long.records.filter((r) => r.late).length).toBeGreaterThan(0);
  });

  it('refuses a rate or duration that is not positive, and runs past the bound', () => {
    expect(() => realTimeGeneratorOptions({ rate: 0, seconds: 60, seed: 1, start: START })).toThrow(RangeError);
    expect(() => realTimeGeneratorOptions({ rate: 200, seconds: -1, seed: 1, start: START })).toThrow(RangeError);
    expect(() => realTimeGeneratorOptions({ rate: 1e6, seconds: 1e6, seed: 1, start: START })).toThrow(/over/);
  });
});

describe('paceSchedule', () => {
  it('moves the timeline so that its start falls at the wall-clock start, keeping every gap', () => {
    const due = paceSchedule([{ timestamp: 1_000 }, { timestamp: 1_005 }, { timestamp: 1_250 }], 1_000, 50_000);
    expect(due).toEqual([50_000, 50_005, 50_250]);
  });

  it('never makes a record due before the one ahead of it, since records are produced in order', () => {
    const due = paceSchedule([{ timestamp: 10 }, { timestamp: 30 }, { timestamp: 20 }, { timestamp: 40 }], 0, 100);
    expect(due).toEqual([110, 130, 130, 140]);
  });

  it('paces a generated run at its rate and leaves the records, and so their disorder, as they are', () => {
    const options = realTimeGeneratorOptions({ rate: 50, seconds: 120, seed: 9, start: START });
    const { records } = generate(options);
    const before = JSON.stringify(records);
    const wall = START + 3_000;
    const due = paceSchedule(records, START, wall);
    expect(JSON.stringify(records)).toBe(before);
    expect(due[0]).toBe(wall);
    // 50 records per second of wall clock: each second of the schedule holds about 50 of them.
    for (let s = 10; s < 110; s += 20) {
      const inSecond = due.filter((t) => t >= wall + s * 1000 && t < wall + (s + 1) * 1000).length;
      expect(inSecond).toBeGreaterThanOrEqual(45);
      expect(inSecond).toBeLessThanOrEqual(55);
    }
    // Event time follows the wall clock: each record's event time lies at most the jitter (or a
    // late record's lag) behind the moment it is due, shifted back by the timeline's move.
    records.forEach((r, i) => {
      if (r.eventTime === undefined) return;
      expect(due[i]! - (wall - START) - r.eventTime).toBeGreaterThanOrEqual(0);
      if (!r.late) expect(due[i]! - (wall - START) - r.eventTime).toBeLessThanOrEqual(LAG_BOUND);
    });
    expect(outOfOrder(records)).toBeGreaterThan(0);
  });

  it('names a record it cannot pace', () => {
    expect(() => paceSchedule([{ timestamp: 1 }, {}], 0, 0)).toThrow(/record 1 has no timestamp/);
  });
});

describe('takeDue', () => {
  const due = [10, 20, 20, 30, 40];
  it('takes the records due by now, up to the batch size', () => {
    expect(takeDue(due, 0, 5, 10)).toBe(0);
    expect(takeDue(due, 0, 20, 10)).toBe(3);
    expect(takeDue(due, 1, 35, 2)).toBe(3);
    expect(takeDue(due, 3, 1_000, 10)).toBe(5);
  });
});

describe('sleepUntil', () => {
  it('resolves at once for a moment already past', async () => {
    await expect(sleepUntil(0, () => 1_000)).resolves.toBeUndefined();
  });

  it('waits again when a timer fires before the clock reaches the moment', async () => {
    const readings = [0, 3, 5];
    let calls = 0;
    await sleepUntil(5, () => readings[Math.min(calls++, readings.length - 1)]!);
    expect(calls).toBe(3);
  });
});
