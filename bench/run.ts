/**
 * `npm run bench [-- sections...] [--json] [--events N]`: every figure measured side by side in
 * one run on this machine. Sections: ingest.
 */
import { parseArgs } from 'node:util';
import { createBenchContext } from './context.ts';
import { benchIngest } from './ingest.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean', default: false },
    events: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '5' },
  },
});

const sections = positionals.length ? positionals : ['ingest'];
const known = new Set(['ingest']);
for (const s of sections) if (!known.has(s)) throw new Error(`unknown bench section "${s}"; known: ${[...known].join(', ')}`);

const ctx = await createBenchContext();
const results: Record<string, unknown> = { machine: { node: process.version, cpus: (await import('node:os')).cpus().length }, at: new Date().toISOString() };
try {
  if (sections.includes('ingest')) results.ingest = await benchIngest(ctx, { events: Number(values.events), rounds: Number(values.rounds) });
} finally {
  await ctx.close();
}

if (values.json) {
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
} else {
  const ingest = results.ingest as Awaited<ReturnType<typeof benchIngest>> | undefined;
  if (ingest) {
    console.log(`\nIngest CPU path, one batch of ${ingest.batchRecords.toLocaleString()} records (best of ${values.rounds}):`);
    console.table(ingest.cpu);
    console.log('DynamoDB requests for that batch (sent to DynamoDB Local and counted):');
    console.table(ingest.writes);
  }
}
