/** Hand-written SVG charts (no dependencies): grouped bars and lines on a log-scale x axis. */

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values from 0 to at least `max` (steps of 1, 2 or 5 times a power of ten). */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
  if (ticks[ticks.length - 1]! < max) ticks.push(+(ticks[ticks.length - 1]! + step).toPrecision(12));
  return ticks;
}

/** Short labels: 1,000 → 1k, 1,000,000 → 1M. */
export function shortNumber(n: number): string {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 100 === 0) return `${n / 1e3}k`;
  return String(+n.toPrecision(3));
}

export const PALETTE = ['#1f77b4', '#d62728', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b'];

const W = 840;
const H = 380;
const M = { top: 48, right: 260, bottom: 56, left: 72 };

function frame(title: string, yLabel: string, xLabel: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - M.right / 2 + M.left / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text transform="translate(18 ${M.top + (H - M.top - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`,
    `<text x="${M.left + (W - M.left - M.right) / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function yAxis(ticks: number[], y: (v: number) => number, format: (v: number) => string): string[] {
  const out: string[] = [];
  for (const t of ticks) {
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${escapeXml(format(t))}</text>`);
  }
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`);
  out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`);
  return out;
}

function legend(series: { name: string; color: string }[]): string[] {
  return series.flatMap((s, i) => {
    const y = M.top + 8 + i * 20;
    return [
      `<rect x="${W - M.right + 14}" y="${y - 9}" width="12" height="12" fill="${s.color}"/>`,
      `<text x="${W - M.right + 32}" y="${y + 1}">${escapeXml(s.name)}</text>`,
    ];
  });
}

export interface BarChart {
  title: string;
  yLabel: string;
  xLabel: string;
  series: string[];
  groups: { label: string; values: number[] }[];
  format?: (v: number) => string;
}

/** Grouped vertical bars, one group per x label, one bar per series; each bar labelled with its value. */
export function barChart(c: BarChart): string {
  const format = c.format ?? ((v: number) => String(+v.toPrecision(3)));
  const max = Math.max(0, ...c.groups.flatMap((g) => g.values));
  const ticks = niceTicks(max);
  const top = ticks[ticks.length - 1]!;
  const plotH = H - M.top - M.bottom;
  const y = (v: number) => H - M.bottom - (v / top) * plotH;
  const groupW = (W - M.left - M.right) / c.groups.length;
  const barW = (groupW * 0.8) / c.series.length;
  const body = yAxis(ticks, y, format);
  c.groups.forEach((g, gi) => {
    const x0 = M.left + gi * groupW + groupW * 0.1;
    g.values.forEach((v, si) => {
      const x = x0 + si * barW;
      body.push(`<rect class="bar" x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(H - M.bottom - y(v)).toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"/>`);
      body.push(`<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(y(v) - 4).toFixed(1)}" text-anchor="middle" font-size="10">${escapeXml(format(v))}</text>`);
    });
    body.push(`<text x="${(M.left + gi * groupW + groupW / 2).toFixed(1)}" y="${H - M.bottom + 18}" text-anchor="middle">${escapeXml(g.label)}</text>`);
  });
  body.push(...legend(c.series.map((name, i) => ({ name, color: PALETTE[i % PALETTE.length]! }))));
  return frame(c.title, c.yLabel, c.xLabel, body);
}

export interface LineChart {
  title: string;
  yLabel: string;
  xLabel: string;
  series: { name: string; points: [number, number][]; dashed?: boolean }[];
  format?: (v: number) => string;
  /** A log10 y axis too (for values over several orders of magnitude), ticks at powers of ten. */
  logY?: boolean;
  /** Vertical marks at x values, labelled (e.g. where two lines cross). */
  marks?: { x: number; label: string }[];
}

/** Powers of ten from at or below `min` to at or above `max`. */
export function decadeTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(min, Number.MIN_VALUE)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(max, Number.MIN_VALUE))));
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  return ticks;
}

/** Lines over a log10 x axis (e.g. events 10k → 1M) and a linear y axis from 0, or a log10 one. */
export function lineChart(c: LineChart): string {
  const format = c.format ?? ((v: number) => String(+v.toPrecision(3)));
  const xs = c.series.flatMap((s) => s.points.map((p) => p[0]));
  const lo = Math.log10(Math.min(...xs));
  const hi = Math.log10(Math.max(...xs));
  const span = hi - lo || 1;
  const ys = c.series.flatMap((s) => s.points.map((p) => p[1]));
  const plotH = H - M.top - M.bottom;
  let ticks: number[];
  let y: (v: number) => number;
  if (c.logY) {
    ticks = decadeTicks(Math.min(...ys.filter((v) => v > 0)), Math.max(...ys));
    const bottom = Math.log10(ticks[0]!);
    const range = Math.log10(ticks[ticks.length - 1]!) - bottom;
    y = (v: number) => H - M.bottom - ((Math.log10(Math.max(v, ticks[0]!)) - bottom) / range) * plotH;
  } else {
    ticks = niceTicks(Math.max(0, ...ys));
    const top = ticks[ticks.length - 1]!;
    y = (v: number) => H - M.bottom - (v / top) * plotH;
  }
  const plotW = W - M.left - M.right - 40;
  const x = (v: number) => M.left + 20 + ((Math.log10(v) - lo) / span) * plotW;
  const body = yAxis(ticks, y, format);
  for (const m of c.marks ?? []) {
    body.push(`<line x1="${x(m.x).toFixed(1)}" x2="${x(m.x).toFixed(1)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#888" stroke-dasharray="2 3"/>`);
    body.push(`<text x="${(x(m.x) + 4).toFixed(1)}" y="${M.top + 12}" font-size="10">${escapeXml(m.label)}</text>`);
  }
  for (const v of [...new Set(xs)].sort((a, b) => a - b)) {
    body.push(`<text x="${x(v).toFixed(1)}" y="${H - M.bottom + 18}" text-anchor="middle">${escapeXml(shortNumber(v))}</text>`);
  }
  c.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const d = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)} ${y(p[1]).toFixed(1)}`).join(' ');
    body.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of s.points) body.push(`<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="3" fill="${color}"><title>${escapeXml(`${s.name}: ${format(p[1])}`)}</title></circle>`);
  });
  body.push(...legend(c.series.map((s, i) => ({ name: s.name, color: PALETTE[i % PALETTE.length]! }))));
  return frame(c.title, c.yLabel, c.xLabel, body);
}
