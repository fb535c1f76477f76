/** The HyperLogLog sketch distinct features continue as past their cap (lib/windows/hll.ts). */
import { describe, expect, it } from 'vitest';
import { HLL_BYTES, HLL_ERROR_BOUND, HLL_STANDARD_ERROR, HyperLogLog } from '../../lib/windows/hll.ts';

const values = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('HyperLogLog', () => {
  it('estimates within the documented bound from just past a cap to 50,000 values, whatever the values', () => {
    const errors: number[] = [];
    for (const n of [501, 1_000, 5_000, 20_000, 50_000]) {
      for (const prefix of ['device', 'user', 'b0t']) {
        const estimate = HyperLogLog.of(values(n, `${prefix}${n}`)).estimate();
        const error = (estimate - n) / n;
        errors.push(error);
        expect(Math.abs(error), `${prefix} n=${n}: estimate ${estimate}`).toBeLessThanOrEqual(HLL_ERROR_BOUND);
      }
    }
    // And unbiased: the errors centre on zero, with a spread near the standard error.
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    const rms = Math.sqrt(errors.reduce((a, b) => a + b * b, 0) / errors.length);
    expect(Math.abs(mean)).toBeLessThan(HLL_STANDARD_ERROR);
    expect(rms).toBeLessThan(2 * HLL_STANDARD_ERROR);
  });

  it('is nearly exact for few values', () => {
    for (const n of [0, 1, 2, 10, 100, 400]) {
      const estimate = HyperLogLog.of(values(n, 'few')).estimate();
      expect(Math.abs(estimate - n), `n=${n}: ${estimate}`).toBeLessThanOrEqual(Math.max(1, n * 0.01));
    }
  });

  it('merges to the sketch of the union, idempotently, and ignores repeats', () => {
    const a = HyperLogLog.of(values(3_000, 'x'));
    const b = HyperLogLog.of([...values(3_000, 'x').slice(1_000), ...values(2_000, 'y')]);
    const union = HyperLogLog.of([...values(3_000, 'x'), ...values(2_000, 'y')]);
    a.merge(b);
    expect(a.registers).toEqual(union.registers);
    a.merge(b);
    expect(a.registers).toEqual(union.registers);
    expect(a.covers(b)).toBe(true);
    expect(b.covers(a)).toBe(false);
    const repeated = HyperLogLog.of([...values(500, 'r'), ...values(500, 'r')]);
    expect(repeated.registers).toEqual(HyperLogLog.of(values(500, 'r')).registers);
  });

  it('round-trips through its fixed-size binary form and refuses anything else', () => {
    const h = HyperLogLog.of(values(10_000, 'z'));
    const bytes = h.toBytes();
    expect(bytes).toHaveLength(HLL_BYTES);
    expect(HyperLogLog.fromBytes(bytes).estimate()).toBe(h.estimate());
    expect(() => HyperLogLog.fromBytes(bytes.subarray(1))).toThrow(/not a streamguard HyperLogLog/);
    const wrongVersion = Uint8Array.from(bytes);
    wrongVersion[0] = 9;
    expect(() => HyperLogLog.fromBytes(wrongVersion)).toThrow(/version 9/);
  });
});
