import { describe, expect, it } from 'vitest';
import { barChart, decadeTicks, escapeXml, lineChart, niceTicks, shortNumber } from '../../bench/svg.ts';

describe('bench SVG charts', () => {
  it('picks round ticks that cover the maximum', () => {
    expect(niceTicks(3.2)).toEqual([0, 1, 2, 3, 4]);
    expect(niceTicks(700_000)).toEqual([0, 200_000, 400_000, 600_000, 800_000]);
    expect(niceTicks(1.22)).toEqual([0, 0.5, 1, 1.5]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });

  it('labels and escapes', () => {
    expect(shortNumber(10_000)).toBe('10k');
    expect(shortNumber(1_000_000)).toBe('1M');
    expect(shortNumber(0.5)).toBe('0.5');
    expect(escapeXml('a < b & "c"')).toBe('a &lt; b &amp; &quot;c&quot;');
  });

  it('draws one bar per value with its label, heights proportional to values', () => {
    const svg = barChart({ title: 'T <1>', yLabel: 'y', xLabel: 'x', series: ['s1', 's2'], groups: [{ label: 'g', values: [1, 2] }] });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('T &lt;1&gt;');
    const heights = [...svg.matchAll(/<rect class="bar" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights).toHaveLength(2);
    expect(heights[1]! / heights[0]!).toBeCloseTo(2, 1);
  });

  it('draws a path per series over a log x axis', () => {
    const svg = lineChart({ title: 't', yLabel: 'y', xLabel: 'x', series: [{ name: 'a', points: [[10_000, 1], [100_000, 1], [1_000_000, 1]] }] });
    const d = /<path d="M([\d.]+) [\d.]+ L([\d.]+) [\d.]+ L([\d.]+) [\d.]+"/.exec(svg)!;
    const [x1, x2, x3] = [Number(d[1]), Number(d[2]), Number(d[3])];
    // Each decade is the same width.
    expect(x2 - x1).toBeCloseTo(x3 - x2, 1);
    expect(svg).toContain('>100k<');
  });

  it('puts decades at equal heights on a log y axis, and marks x values', () => {
    expect(decadeTicks(12, 25_000)).toEqual([10, 100, 1000, 10_000, 100_000]);
    const svg = lineChart({ title: 't', yLabel: 'y', xLabel: 'x', logY: true, marks: [{ x: 100, label: 'cross' }], series: [{ name: 'a', points: [[10, 10], [100, 100], [1000, 1000]] }] });
    const d = /<path d="M[\d.]+ ([\d.]+) L[\d.]+ ([\d.]+) L[\d.]+ ([\d.]+)"/.exec(svg)!;
    const [y1, y2, y3] = [Number(d[1]), Number(d[2]), Number(d[3])];
    expect(y1 - y2).toBeCloseTo(y2 - y3, 1);
    expect(svg).toContain('>cross<');
  });
});
