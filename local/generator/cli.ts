/**
 * Command line for the event generator:
 *
 *   tsx local/generator/cli.ts --events 50000 --seed 42 --brokers host:9092 --out events.jsonl
 *   tsx local/generator/cli.ts --events 50000 --seed 42 --mock --out events.jsonl
 *   tsx local/generator/cli.ts --events 50000 --seed 42 --dry-run
 *
 * Writes the event log (--out) and the injected scenarios (--scenarios, default next to the log).
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { SOURCE_TOPICS } from '../../lib/pipelines/topics.ts';
import { generate } from './generate.ts';
import { toEventLog, writeEventLog } from './jsonl.ts';
import { produceRecords } from './produce.ts';

const USAGE = `usage: cli.ts --events N --seed S [--start ISO] [--eps N] [--malformed-rate R] [--late-rate R]
              [--no-huge] (--brokers h:p[,h:p] | --mock | --dry-run) [--out events.jsonl] [--scenarios file.json]`;

function number(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${JSON.stringify(raw)}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      seed: { type: 'string' },
      start: { type: 'string' },
      eps: { type: 'string' },
      'malformed-rate': { type: 'string' },
      'late-rate': { type: 'string' },
      'no-huge': { type: 'boolean' },
      brokers: { type: 'string' },
      mock: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      out: { type: 'string' },
      scenarios: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || values.events === undefined || values.seed === undefined) {
    console.error(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const start = values.start === undefined ? undefined : Date.parse(values.start);
  if (start !== undefined && !Number.isFinite(start)) throw new Error(`--start: unparseable date ${values.start}`);

  const t0 = performance.now();
  const { records, scenarios } = generate({
    events: number('events', values.events)!,
    seed: number('seed', values.seed)!,
    start,
    eventsPerSecondOfEventTime: number('eps', values.eps),
    malformedRate: number('malformed-rate', values['malformed-rate']),
    lateRate: number('late-rate', values['late-rate']),
    hugeValues: values['no-huge'] ? false : undefined,
  });
  const count = (p: (r: (typeof records)[number]) => boolean) => records.filter(p).length;
  console.error(
    `generated ${records.length} records in ${Math.round(performance.now() - t0)} ms: ` +
      `${count((r) => r.malformed !== undefined)} malformed, ${count((r) => r.late === true)} late, ${scenarios.length} scenarios`,
  );
  const scenariosPath = values.scenarios ?? (values.out ? values.out.replace(/\.jsonl$/, '') + '.scenarios.json' : undefined);
  if (scenariosPath) await writeFile(scenariosPath, `${JSON.stringify(scenarios, null, 2)}\n`);
  if (values['dry-run']) return;

  let stop: (() => Promise<void>) | undefined;
  let brokers = values.brokers?.split(',').filter(Boolean);
  if (!brokers?.length) {
    if (!values.mock) throw new Error(`give --brokers, --mock or --dry-run\n${USAGE}`);
    // Imported lazily: the mock needs a native build that a run against a real cluster does not.
    const { startMockKafka } = await import('../broker/mock-kafka.ts');
    const mock = await startMockKafka({ topics: SOURCE_TOPICS.map((name) => ({ name, partitions: 4 })) });
    brokers = mock.bootstrapServers;
    stop = () => mock.stop();
    console.error(`mock Kafka at ${brokers.join(',')}`);
  }
  try {
    const t1 = performance.now();
    const produced = await produceRecords(brokers, records, {
      onProgress: (n) => {
        if (n % 10_000 < 500) console.error(`produced ${n}/${records.length}`);
      },
    });
    console.error(`produced ${produced.length} records in ${Math.round(performance.now() - t1)} ms`);
    if (values.out) await writeEventLog(values.out, toEventLog(records, produced));
  } finally {
    await stop?.();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
