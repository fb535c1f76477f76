/**
 * A/B of the ingest section's CPU path between checkouts, for a loaded machine: `npm run bench --
 * ingest` takes the best of a few wall-clock rounds per path, and on a shared 2-core machine its
 * ratio for one batch size moves by 0.4 from run to run, more than a 15% regression. Here every
 * batch goes through the baseline and each checkout's `ingestPath` back to back, in rotating
 * order, and CPU time (process.cpuUsage) is summed per side, so load swings hit all sides alike.
 *
 *   npx tsx bench/ab-ingest.ts [--rounds 10] [--events 20000] [--batch-sizes 100,500,1000,10000]
 *                              [--workloads uniform,skewed] <checkout> [<checkout> ...]
 *
 * Each checkout is a directory with its own `bench/paths.ts` (`git worktree add /tmp/ab-<sha> <sha>`;
 * node_modules may be a link to this one's when the lock files agree). The batches are built once,
 * by the first checkout's workload and encoder. Printed per workload and batch size: each side's
 * baseline / ingest CPU ratio (the section's ratioVsBaseline, on CPU time), and its time relative
 * to the first checkout, each with the range of the per-round values (the first round is warm-up).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

type Path = (event: unknown) => number;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '10' },
    events: { type: 'string', default: '20000' },
    'batch-sizes': { type: 'string', default: '100,500,1000,10000' },
    workloads: { type: 'string', default: 'uniform,skewed' },
  },
});
if (positionals.length === 0) throw new Error('name at least one checkout directory');
const dirs = positionals.map((d) => resolve(d));
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 2) throw new Error(`--rounds must be an integer >= 2, got ${values.rounds}`);

const paths = await Promise.all(dirs.map((d) => import(`${d}/bench/paths.ts`) as Promise<{ baseline: Path; ingestPath: Path }>));
const { workload, topicBatches } = (await import(`${dirs[0]}/bench/workload.ts`)) as typeof import('./workload.ts');
const { encodeKafkaEvent } = (await import(`${dirs[0]}/lib/codec/encode.ts`)) as typeof import('../lib/codec/encode.ts');
const names = dirs.map((d) => d.split('/').pop()!);
const sides: Path[] = [paths[0]!.baseline, ...paths.map((p) => p.ingestPath)];
const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const range = (xs: number[], digits: number) => `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;

console.log(`batch-interleaved CPU time, ${values.events} events per workload, ${rounds - 1} rounds after a warm-up; sides: baseline, ${names.join(', ')}`);
for (const distribution of values.workloads.split(',') as ('uniform' | 'skewed')[]) {
  const records = workload({ events: Number(values.events), distribution });
  for (const size of values['batch-sizes'].split(',').map(Number)) {
    const events = [...topicBatches(records, size)].map((b) => encodeKafkaEvent(b));
    const perRound: number[][] = [];
    let turn = 0;
    for (let r = 0; r < rounds; r++) {
      const t = sides.map(() => 0);
      for (const e of events) {
        turn++;
        for (let j = 0; j < sides.length; j++) {
          const i = (j + turn) % sides.length;
          const before = cpuMicros();
          sides[i]!(e);
          t[i]! += cpuMicros() - before;
        }
      }
      if (r > 0) perRound.push(t);
    }
    const total = sides.map((_, i) => perRound.reduce((sum, t) => sum + t[i]!, 0));
    const cells = names.map((name, s) => {
      const i = s + 1;
      const ratio = `${name} ${(total[0]! / total[i]!).toFixed(2)} [${range(perRound.map((t) => t[0]! / t[i]!), 2)}]`;
      if (s === 0) return ratio;
      return `${ratio} x${(total[i]! / total[1]!).toFixed(3)} [${range(perRound.map((t) => t[i]! / t[1]!), 3)}]`;
    });
    console.log(`${distribution.padEnd(8)} ${String(size).padStart(6)}  ${cells.join('   ')}`);
  }
}
