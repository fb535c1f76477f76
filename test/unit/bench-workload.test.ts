import { describe, expect, it } from 'vitest';
import { perSecond, percentile, ratio } from '../../bench/stats.ts';
import { HOT_IP, topicBatches, workload } from '../../bench/workload.ts';

describe('bench workloads', () => {
  it('gives the skewed workload one hot IP on about the configured share of registrations', () => {
    const regs = workload({ events: 20_000, distribution: 'skewed', hotIpShare: 0.3 }).filter((r) => r.topic === 'user_registrations');
    const hot = regs.filter((r) => (r.value as { ip: string }).ip === HOT_IP).length;
    expect(hot / regs.length).toBeGreaterThan(0.27);
    expect(hot / regs.length).toBeLessThan(0.33);
    const uniform = workload({ events: 20_000, distribution: 'uniform' }).filter((r) => r.topic === 'user_registrations');
    expect(uniform.some((r) => (r.value as { ip: string }).ip === HOT_IP)).toBe(false);
  });

  it('leaves the uniform and Zipf streams as they were before the skewed one was added', () => {
    const a = workload({ events: 500, distribution: 'zipf' });
    const b = workload({ events: 500, distribution: 'skewed', hotIpShare: 0 });
    expect(b).toEqual(a);
  });

  it('cuts batches per topic, at most the size, each partition in offset order', () => {
    const records = workload({ events: 3_000, distribution: 'uniform' });
    const batches = [...topicBatches(records, 400)];
    expect(batches.reduce((n, b) => n + b.length, 0)).toBe(records.length);
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(400);
      expect(new Set(b.map((r) => r.topic)).size).toBe(1);
      const last = new Map<number, number>();
      for (const r of b) {
        expect(r.offset).toBeGreaterThan(last.get(r.partition) ?? -1);
        last.set(r.partition, r.offset);
      }
    }
    expect(batches.filter((b) => b.length < 400).length).toBeLessThanOrEqual(3);
    expect(() => topicBatches(records, 0).next()).toThrow(RangeError);
  });
});

describe('bench stats', () => {
  it('computes rates, ratios and nearest-rank percentiles', () => {
    expect(perSecond(1000, 500)).toBe(2000);
    expect(perSecond(1, 0)).toBe(0);
    expect(ratio(1, 3)).toBe(0.33);
    expect(ratio(1, 0)).toBe(0);
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95)).toBe(10);
    expect(percentile([], 0.5)).toBe(0);
  });
});
