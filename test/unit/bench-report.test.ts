import { describe, expect, it } from 'vitest';
import { selfTimes } from '../../bench/profile-summary.ts';
import { evaluateTargets, type BenchResults } from '../../bench/report.ts';

describe('bench targets', () => {
  it('checks the CPU ratio, extra writes, the skewed reductions and dropped offsets against the measured figures', () => {
    const ingest = { events: 1, rounds: 1, target: { ratioVsBaseline: 0.5 }, rows: [{ workload: 'uniform', batchSize: 500, ratioVsBaseline: 0.4 }, { workload: 'skewed', batchSize: 500, ratioVsBaseline: 0.6 }] };
    const row = (workload: string, extra: number, a: number, b: number, full: number) => ({ workload, batchSize: 500, idempotencyExtraWrites: extra, fewerWritesThanAtomic: a, fewerWritesThanPowertoolsAsBriefed: b, fewerWritesThanPowertoolsFull: full });
    const writes = { rows: [row('uniform', 0, 1, 2, 3), row('skewed', 2, 2.5, 12, 15)] };
    const e2e = { runs: [{ events: 10_000, offsetsSkipped: 0 }] };
    const targets = evaluateTargets({ ingest, writes, e2e } as unknown as Pick<BenchResults, 'ingest' | 'writes' | 'e2e'>);
    const by = (s: string) => targets.filter((t) => t.name.includes(s));
    expect(by('CPU path').map((t) => t.met)).toEqual([false, true]);
    expect(by('CPU path')[0]!.gap).toBe('20% short');
    expect(by('extra writes').map((t) => t.met)).toEqual([true, false]);
    const atomic = by('(a) atomic')[0]!;
    expect(atomic).toMatchObject({ met: false, measured: '2.5x', gap: '2.0x short' });
    expect(by('(b) Powertools').map((t) => t.met)).toEqual([true, true]);
    expect(by('offsets the broker dropped')[0]!.met).toBe(true);
  });
});

describe('bench profile summary', () => {
  it('adds self time per function and per file from the samples', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'planBatch', url: `file://${process.cwd()}/lib/ingest/plan.ts`, lineNumber: 9 } },
        { id: 3, callFrame: { functionName: 'parse', url: '', lineNumber: -1 } },
      ],
      samples: [2, 2, 3, 2],
      timeDeltas: [1000, 1000, 2000, 1000],
    };
    const s = selfTimes(profile);
    expect(s.totalMs).toBe(5);
    expect(s.byFunction[0]).toEqual({ name: 'planBatch lib/ingest/plan.ts:10', ms: 3, share: 60 });
    expect(s.byFunction[1]).toEqual({ name: 'parse', ms: 2, share: 40 });
    expect(s.byFile.map((f) => f.name)).toEqual(['lib/ingest/plan.ts', '(native)']);
  });
});
