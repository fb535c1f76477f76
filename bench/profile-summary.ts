/**
 * Summarises `node --cpu-prof` output: self time by function and by file, largest first.
 *
 *   tsx bench/profile-summary.ts <dir-or-file.cpuprofile> [--top 25]
 *
 * `npm run bench:profile` profiles the ingest section and runs this on the result.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

const shortUrl = (url: string) => {
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm + 'node_modules/'.length);
  return path.startsWith('/') ? relative(process.cwd(), path) : path || '(native)';
};

/** Self time per function ("name file:line") and per file, from one profile's samples. */
export function selfTimes(profile: CpuProfile): { byFunction: SelfTime[]; byFile: SelfTime[]; totalMs: number } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const node = nodes.get(id);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    const f = url ? shortUrl(url) : functionName.startsWith('(') ? functionName : '(native)';
    file.set(f, (file.get(f) ?? 0) + us);
    total += us;
  });
  const list = (m: Map<string, number>) =>
    [...m]
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: total ? Math.round((us / total) * 1000) / 10 : 0 }))
      .sort((a, b) => b.ms - a.ms);
  return { byFunction: list(fn), byFile: list(file), totalMs: Math.round(total / 1000) };
}

/** Sampled ticks per source line of local files (the profiled code is a bundle with lines intact). */
export function hotLines(profile: CpuProfile): { file: string; line: number; ticks: number }[] {
  const lines = new Map<string, { file: string; line: number; ticks: number }>();
  for (const n of profile.nodes) {
    if (!n.callFrame.url.startsWith('file://')) continue;
    for (const t of n.positionTicks ?? []) {
      const k = `${n.callFrame.url}:${t.line}`;
      const e = lines.get(k) ?? { file: n.callFrame.url, line: t.line, ticks: 0 };
      e.ticks += t.ticks;
      lines.set(k, e);
    }
  }
  return [...lines.values()].sort((a, b) => b.ticks - a.ticks);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  const target = positionals[0] ?? '.cache/bench-profile';
  const files = statSync(target).isDirectory()
    ? readdirSync(target)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(target, f))
    : [target];
  const top = Number(values.top);
  // A run can leave one profile per thread (tsx's loader thread is one): keep the busiest.
  const busy = (s: ReturnType<typeof selfTimes>) => s.totalMs - (s.byFunction.find((x) => x.name === '(idle)')?.ms ?? 0);
  const summaries = files.map((f) => ({ f, s: selfTimes(JSON.parse(readFileSync(f, 'utf8')) as CpuProfile) })).sort((a, b) => busy(b.s) - busy(a.s));
  for (const { f, s } of summaries.slice(0, 1)) {
    console.log(`\n${f}: ${s.totalMs} ms sampled`);
    console.log('\nself time by function:');
    for (const x of s.byFunction.slice(0, top)) console.log(`${String(x.share).padStart(5)}%  ${String(x.ms).padStart(6)} ms  ${x.name}`);
    console.log('\nself time by file:');
    for (const x of s.byFile.slice(0, 15)) console.log(`${String(x.share).padStart(5)}%  ${String(x.ms).padStart(6)} ms  ${x.name}`);
    const lines = hotLines(JSON.parse(readFileSync(f, 'utf8')) as CpuProfile);
    const ticks = lines.reduce((n, l) => n + l.ticks, 0);
    console.log('\nhottest source lines (share of line-attributed ticks):');
    const sources = new Map<string, string[]>();
    for (const l of lines.slice(0, top)) {
      if (!sources.has(l.file)) sources.set(l.file, readFileSync(new URL(l.file), 'utf8').split('\n'));
      const text = sources.get(l.file)![l.line - 1]?.trim().slice(0, 110) ?? '';
      console.log(`${((l.ticks / ticks) * 100).toFixed(1).padStart(5)}%  ${shortUrl(l.file)}:${l.line}  ${text}`);
    }
  }
}
