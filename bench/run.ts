/**
 * `npm run bench [-- sections...] [--json] [--write-results] [sizes...]`: every figure measured on
 * this machine, each comparison side by side in one run. Sections: ingest, writes, e2e, scaling,
 * cost (all when none is named). With every section, or with --write-results, it writes
 * bench/results.md, bench/results.json and bench/charts/*.svg; --render rewrites them from a saved
 * results.json. Progress goes to stderr; --json prints one JSON object.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultMappings } from '../lib/config/deployment.ts';
import { effectiveBatchingWindowS } from '../local/esm/config.ts';
import { createBenchContext, type BenchContext } from './context.ts';
import { benchCost, DEFAULT_ASSUMPTIONS, type DesignInputs } from './cost.ts';
import { benchCostRates } from './cost-rates.ts';
import { benchColdStart } from './coldstart.ts';
import { benchE2e } from './e2e.ts';
import { benchIngest } from './ingest.ts';
import { evaluateTargets, latencyRows, writeResults, type BenchResults } from './report.ts';
import { benchScaling, windowsPerEvent } from './scaling.ts';
import { benchWrites } from './writes.ts';
import { WORKLOAD_LABEL } from './workload.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SECTIONS = ['ingest', 'writes', 'e2e', 'scaling', 'cost', 'coldstart'] as const;
type Section = (typeof SECTIONS)[number];

const USAGE = `usage: npm run bench -- [${SECTIONS.join('|')} ...] [--json] [--write-results]
       npm run bench -- --render [results.json]   rewrite results.md and the charts from a saved run
  --events N               ingest: events per workload (default 50000)
  --rounds N               ingest: interleaved rounds, best taken (default 5)
  --batch-sizes a,b,...    ingest: batch sizes (default 100,500,1000,10000)
  --write-events N         writes: events per workload against DynamoDB Local (default 5000)
  --write-batch N          writes: batch size (default 500)
  --e2e-sizes a,b          e2e: events per run (default 10000,30000; each run about 0.5-1 min)
  --seed S                 e2e: generator seed (default 7)
  --latency-rate N         e2e: events/s of the real-time run for alert latency (default 200)
  --latency-seconds S      e2e: its length (default 60)
  --scaling-sizes a,b,c    scaling: events (default 10000,100000,1000000)
  --count-batch-sizes a,b  scaling: batch sizes for write counts (default 500,10000)
  --memory-batch-sizes     scaling: batch sizes for the memory high-water mark (default 100,1000,10000)
  --rate N                 cost: events/s for the monthly projection (default 1000)
  --dynamo-latency-ms N    cost: assumed DynamoDB round trip from Lambda (default 5)
  --coldstart-runs N       coldstart: fresh processes per function, median taken (default 15)`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    help: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'write-results': { type: 'boolean', default: false },
    render: { type: 'boolean', default: false },
    events: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '5' },
    'batch-sizes': { type: 'string', default: '100,500,1000,10000' },
    'write-events': { type: 'string', default: '5000' },
    'write-batch': { type: 'string', default: '500' },
    'e2e-sizes': { type: 'string', default: '10000,30000' },
    seed: { type: 'string', default: '7' },
    'latency-rate': { type: 'string', default: '200' },
    'latency-seconds': { type: 'string', default: '60' },
    'scaling-sizes': { type: 'string', default: '10000,100000,1000000' },
    'count-batch-sizes': { type: 'string', default: '500,10000' },
    'memory-batch-sizes': { type: 'string', default: '100,1000,10000' },
    'coldstart-runs': { type: 'string', default: '15' },
    rate: { type: 'string', default: '1000' },
    'dynamo-latency-ms': { type: 'string', default: '5' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const benchDir = fileURLToPath(new URL('.', import.meta.url));
if (values.render) {
  const saved = JSON.parse(readFileSync(positionals[0] ?? join(benchDir, 'results.json'), 'utf8')) as BenchResults;
  console.error(`wrote ${writeResults(saved, benchDir).join(', ')} from the run of ${saved.startedAt}`);
  process.exit(0);
}

const int = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
};
const ints = (name: string, raw: string): number[] => raw.split(',').map((s) => int(name, s.trim()));

for (const s of positionals) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`unknown bench section "${s}"; known: ${SECTIONS.join(', ')}`);
const sections = new Set<Section>(positionals.length ? (positionals as Section[]) : SECTIONS);
const all = SECTIONS.every((s) => sections.has(s));
// Cost is computed from sections 1 and 2: run them when cost is asked for alone.
const needed = new Set<Section>(sections);
if (sections.has('cost')) {
  needed.add('ingest');
  needed.add('writes');
}

const options = {
  events: int('events', values.events),
  rounds: int('rounds', values.rounds),
  batchSizes: ints('batch-sizes', values['batch-sizes']),
  writeEvents: int('write-events', values['write-events']),
  writeBatch: int('write-batch', values['write-batch']),
  e2eSizes: ints('e2e-sizes', values['e2e-sizes']),
  seed: int('seed', values.seed),
  latencyRate: int('latency-rate', values['latency-rate']),
  latencySeconds: int('latency-seconds', values['latency-seconds']),
  scalingSizes: ints('scaling-sizes', values['scaling-sizes']),
  countBatchSizes: ints('count-batch-sizes', values['count-batch-sizes']),
  memoryBatchSizes: ints('memory-batch-sizes', values['memory-batch-sizes']),
  rate: int('rate', values.rate),
  dynamoLatencyMs: Number(values['dynamo-latency-ms']),
  coldstartRuns: int('coldstart-runs', values['coldstart-runs']),
};
if (needed.has('cost') && !options.batchSizes.includes(options.writeBatch)) options.batchSizes.push(options.writeBatch);

const log = (line: string) => console.error(line);
const started = Date.now();
const results: BenchResults = {
  machine: {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGB: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart: loadavg().map((l) => +l.toFixed(2)),
    loadAverageAtEnd: [],
  },
  startedAt: new Date(started).toISOString(),
  seconds: 0,
  sections: SECTIONS.filter((s) => needed.has(s)),
  options,
};

let ctx: BenchContext | undefined;
try {
  if (needed.has('ingest')) {
    log(`ingest: CPU path, ${options.events.toLocaleString('en-US')} events per workload, batch sizes ${options.batchSizes.join(', ')}…`);
    results.ingest = await benchIngest({ events: options.events, rounds: options.rounds, batchSizes: options.batchSizes });
  }
  if (needed.has('writes')) {
    log(`writes: ${options.writeEvents.toLocaleString('en-US')} events per workload and design against DynamoDB Local…`);
    ctx = await createBenchContext();
    results.writes = await benchWrites(ctx, { events: options.writeEvents, batchSize: options.writeBatch });
    await ctx.close();
    ctx = undefined;
  }
  if (needed.has('e2e')) {
    results.e2e = await benchE2e({ sizes: options.e2eSizes, seed: options.seed, closerIntervalMs: 2_000, idleTimeoutMs: 30_000, latency: { rate: options.latencyRate, seconds: options.latencySeconds } });
  }
  if (needed.has('scaling')) {
    results.scaling = await benchScaling({ sizes: options.scalingSizes, cpuBatchSize: options.writeBatch, countBatchSizes: options.countBatchSizes, memoryBatchSizes: options.memoryBatchSizes });
  }
  if (needed.has('cost')) {
    const cpu = results.ingest!.rows.find((r) => r.workload === 'uniform' && r.batchSize === options.writeBatch)!;
    const w = results.writes!.rows.find((r) => r.workload === 'uniform')!;
    const closer = results.writes!.closer!;
    const designs: DesignInputs[] = w.designs.map((d) => ({
      name: d.design,
      cpuEventsPerSec: d.design === 'streamguard' ? cpu.ingestEventsPerSec : cpu.powertoolsEventsPerSec,
      writeRequestsPerEvent: d.writeRequestsPerEvent,
      writeUnitsPerEvent: d.writeUnitsPerEvent,
      readRequestsPerEvent: d.readRequests / w.events,
      readUnitsPerEvent: d.readUnitsPerEvent,
    }));
    // Windows per event depend on traffic density: count them for 10 minutes at the projected rate.
    const atRate = options.rate * 600;
    const windows = windowsPerEvent(atRate, 'uniform');
    results.cost = benchCost(
      designs,
      {
        windowsPerEvent: windows.perEvent,
        requestsPerWindow: (closer.writeRequests + closer.readRequests) / closer.windowsClosed,
        writeUnitsPerWindow: closer.writeUnitsPerWindow,
        readUnitsPerWindow: closer.readUnitsPerWindow,
      },
      { events: atRate, windows: windows.windows, perEvent: windows.perEvent },
      WORKLOAD_LABEL.uniform,
      options.rate,
      { ...DEFAULT_ASSUMPTIONS, batchSize: options.writeBatch, dynamoLatencyMs: options.dynamoLatencyMs },
    );
    log('cost: batches, writes and windows per event at each rate, in process…');
    const ours = w.designs.find((d) => d.design === 'streamguard')!;
    const mapping = defaultMappings[0]!;
    results.cost.rates = benchCostRates(
      {
        writeUnitsPerRequest: (ours.writeUnits - ours.indexWriteUnits) / ours.writeRequests,
        dueUnitsPerWindow: ours.indexWriteUnits / windowsPerEvent(w.events, 'uniform').windows,
        readUnitsPerEvent: ours.readUnitsPerEvent,
        cpuEventsPerSec: cpu.ingestEventsPerSec,
        closer: {
          requestsPerWindow: (closer.writeRequests + closer.readRequests) / closer.windowsClosed,
          writeUnitsPerWindow: closer.writeUnitsPerWindow,
          readUnitsPerWindow: closer.readUnitsPerWindow,
          alertsPerWindow: closer.alerts / closer.windowsClosed,
        },
      },
      { ...DEFAULT_ASSUMPTIONS, dynamoLatencyMs: options.dynamoLatencyMs },
      { batchSize: mapping.batchSize, batchingWindowS: effectiveBatchingWindowS(mapping.maxBatchingWindow) },
    );
  }
  if (needed.has('coldstart')) {
    log(`coldstart: bundling each function as deployed, ${options.coldstartRuns} fresh processes each…`);
    results.coldstart = await benchColdStart({ runs: options.coldstartRuns });
  }
} finally {
  await ctx?.close();
}

results.targets = evaluateTargets(results);
results.machine.loadAverageAtEnd = loadavg().map((l) => +l.toFixed(2));
results.seconds = Math.round((Date.now() - started) / 1000);
if (all || values['write-results']) {
  const written = writeResults(results, benchDir);
  log(`wrote ${written.join(', ')}`);
}

if (values.json) {
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
} else {
  if (results.ingest) {
    console.log(`\n1. Ingest CPU path, ${results.ingest.events.toLocaleString('en-US')} events per workload (best of ${results.ingest.rounds}):`);
    console.table(results.ingest.rows);
  }
  if (results.writes) {
    console.log(`\n2. DynamoDB requests and capacity, batch ${results.writes.batchSize} (${results.writes.capacitySource}):`);
    console.table(results.writes.rows.flatMap((r) => r.designs.map((d) => ({ workload: r.workload, design: d.design, writeRequests: d.writeRequests, perEvent: d.writeRequestsPerEvent, WCU: d.writeUnits, WCUPerEvent: d.writeUnitsPerEvent, RCU: d.readUnits, seconds: d.seconds }))));
    console.table(results.writes.rows.map(({ designs: _, ...r }) => r));
    const sequences = results.writes.rows.filter((r) => r.sequence).map((r) => ({ workload: r.workload, ...r.sequence! }));
    if (sequences.length > 0) {
      console.log('default sequence rule (new-device-payment) beside the window pipelines: state item read-modify-write per (user, batch), alerts:');
      console.table(sequences);
    }
    if (results.writes.closer) console.log('closer pass:', results.writes.closer);
    const variants = results.writes.registrationsVariants;
    if (variants) {
      console.log('registrations pipeline, tumbling vs hopping, its topic alone (window-table units per event; closer per evaluated window):');
      console.table(variants.map((v) => ({ workload: v.workload, variant: v.variant, events: v.events, windowWrites: v.windowWriteRequests, WCUPerEvent: v.writeUnitsPerEvent, vsTumbling: v.vsTumbling, ingestRCUPerEvent: v.readUnitsPerEvent, windowsEvaluated: v.closer.windowsEvaluated, closerWCUPerWindow: v.closer.writeUnitsPerEvaluatedWindow, closerRCUPerWindow: v.closer.readUnitsPerEvaluatedWindow, alerts: v.closer.alerts })));
    }
  }
  if (results.e2e) {
    console.log('\n3. End to end through the local runtime:');
    console.table(results.e2e.runs.map((r) => ({ events: r.events, eventsPerSec: r.eventsPerSec, offsetsSkipped: r.offsetsSkipped, windowsClosedPerSec: r.windowsClosedPerSec, alerts: r.alerts, latencyP50: r.alertLatencyMs.p50, latencyP95: r.alertLatencyMs.p95, scenarios: `${r.scenariosAlerted}/${r.scenarios}` })));
    const l = results.e2e.latency;
    if (l) {
      console.log(`alert latency, ${l.seconds} s in real time at ${l.rate} events/s (ms; early from the deciding record, at close from the watermark passing the window end):`);
      console.table(latencyRows(l));
    }
  }
  if (results.scaling) {
    console.log('\n4. Scaling (in process):');
    console.table(results.scaling.rows.map((r) => ({ workload: r.workload, events: r.events, pairs: r.distinctPairs, ...Object.fromEntries(r.ours.map((c) => [`ours@${c.batchSize}`, c.writesPerEvent])), atomic: +(r.atomicCounterWrites / r.events).toFixed(3), idempotency: +(r.powertoolsIdempotencyWrites / r.events).toFixed(3), cpuRatio: r.cpu.ratioVsBaseline })));
    console.table(results.scaling.memory);
  }
  if (results.cost) {
    console.log(`\n5. Cost per million events (${results.cost.prices.source}):`);
    console.table(results.cost.perMillionEvents);
    console.log('monthly at', results.cost.monthly);
    if (results.cost.rates) {
      console.log('batching knob:');
      console.table(results.cost.rates.batching.map((r) => ({ eventsPerSec: r.eventsPerSec, batchSize: r.batchSize, windowS: r.batchingWindowS, meanBatch: r.meanBatch, writesPerEvent: r.writeRequestsPerEvent, WCUPerEvent: r.writeUnitsPerEvent, dollarsPerMillion: r.dollarsPerMillionEvents, maxWaitS: r.maxWaitS })));
      console.log('monthly cost against the rate:');
      console.table(results.cost.rates.curve);
      console.log('crossovers with Managed Flink (events/s):', results.cost.rates.crossovers);
    }
  }
  if (results.coldstart) {
    console.log('\n6. Cold start, as bundled for deployment:');
    console.table(results.coldstart.rows.map((r) => ({ function: r.function, sdk: r.sdk, kb: r.kb, initMedianMs: r.initMs.median, initMinMs: r.initMs.min, initMaxMs: r.initMs.max, largest: r.largest.map((m) => `${m.module} ${m.kb}`).join(', ') })));
    const d = results.coldstart.deferred;
    console.log(`loaded on first Kafka use, not at init: ${d.modules.join(' + ')}, ${d.kb} KB, import alone median ${d.initMs.median} ms (min ${d.initMs.min}, max ${d.initMs.max})`);
  }
  console.log('\nTargets:');
  console.table(results.targets);
  console.log(`whole run: ${results.seconds} s`);
}
