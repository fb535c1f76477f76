/**
 * The ingest section's streamguard path alone, for `node --cpu-prof` (npm run bench:profile bundles it with esbuild first, as the function is bundled, so profile lines are source lines): the
 * same batches and the same function the section times, run for a few seconds, so the profile names
 * what our path spends its time on, without the baseline's or Powertools' samples mixed in.
 *
 *   node --cpu-prof --import tsx bench/profile-ingest.ts [--events 50000] [--batch-size 500] [--rounds 20] [--workload uniform]
 */
import { parseArgs } from 'node:util';
import { encodeKafkaEvent } from '../lib/codec/encode.ts';
import { baseline, ingestPath } from './paths.ts';
import { topicBatches, workload, type KeyDistribution } from './workload.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '50000' },
    'batch-size': { type: 'string', default: '500' },
    rounds: { type: 'string', default: '20' },
    workload: { type: 'string', default: 'uniform' },
  },
});
const records = workload({ events: Number(values.events), distribution: values.workload as KeyDistribution });
const events = [...topicBatches(records, Number(values['batch-size']))].map((b) => encodeKafkaEvent(b));
const time = { baseline: 0, ingest: 0 };
for (let i = 0; i < Number(values.rounds); i++) {
  let t = performance.now();
  for (const e of events) baseline(e);
  time.baseline += performance.now() - t;
  t = performance.now();
  for (const e of events) ingestPath(e);
  time.ingest += performance.now() - t;
}
console.log(`profiled ${values.rounds} rounds of ${records.length} events (${values.workload}, batch ${values['batch-size']}): baseline ${Math.round(time.baseline)} ms, streamguard ${Math.round(time.ingest)} ms, ratio ${(time.baseline / time.ingest).toFixed(2)}`);
