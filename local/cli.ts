/**
 * The streamguard command line: `npx streamguard <command>` (also behind npm scripts).
 */
import { parseArgs } from 'node:util';
import { runDoctor } from './commands/doctor.ts';
import { runStart } from './commands/start.ts';
import { runInvoke, runRules, runTop } from './commands/tools.ts';
import { generate } from './generator/generate.ts';
import { produceRecords } from './generator/produce.ts';
import { paceSchedule, realTimeGeneratorOptions, REAL_TIME_DEFAULTS } from './generator/pace.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: streamguard <command>
  start   [--events N=30000] [--seed S=7] [--out DIR] [--closer-interval-ms MS=2000] [--chaos] [--quiet]
          everything on this machine: broker, DynamoDB Local, ingest, closer, a generated scenario
  start   --real-time [--rate N=200] [--seconds S=60] [--seed S] [--out DIR]
          event time follows the wall clock at N events/s; prints alert latency, early and at close
  replay  <events.jsonl> [--out DIR]      feed a recorded event log (as start --out writes it) through the pipelines
  produce --brokers h:p[,h:p] [--events N] [--seed S]   produce a generated scenario to a running cluster
          [--real-time [--rate N] [--seconds S]]        paced on the wall clock (its watermark delay is 10 s)
  invoke  <ingest|close-windows|dispatch-alerts> <event.json>  run one function on one event (e.g. events/payments.json, events/dynamodb-stream.json)
  top     <pipeline> [--by FEATURE] [--n 10]           top keys of a pipeline's windows (WINDOWS_TABLE, AWS_ENDPOINT_URL)
  rules   list | put <rule.json> | delete <id> | test <rule.json>   manage rules (STATE_TABLE, AWS_ENDPOINT_URL)
  verify  [--events N=20000] [--seed S=1] [--chaos] [--hostile] [--min-faults K] [--out DIR]
          run the system on a generated log (with faults under --chaos, hostile records under
          --hostile), run the DuckDB reference on the same log, compare; exits 1 on any difference
  doctor  check prerequisites and say what to install
External services: KAFKA_BROKERS=host:port,... and AWS_ENDPOINT_URL=http://... are used instead of starting them.`;

const int = (name: string, raw: string | undefined, fallback: number): number => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative whole number, got ${JSON.stringify(raw)}`);
  return n;
};

const positive = (name: string, raw: string | undefined, fallback: number): number => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 1_000_000) throw new Error(`--${name} must be a positive number up to 1000000, got ${JSON.stringify(raw)}`);
  return n;
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      events: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'closer-interval-ms': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      brokers: { type: 'string' },
      by: { type: 'string' },
      n: { type: 'string' },
      chaos: { type: 'boolean', default: false },
      hostile: { type: 'boolean', default: false },
      'min-faults': { type: 'string' },
      help: { type: 'boolean', default: false },
      'real-time': { type: 'boolean', default: false },
      rate: { type: 'string' },
      seconds: { type: 'string' },
    },
  });
  // `streamguard <command> --help` (e.g. `npm run start -- --help`) prints the usage and starts nothing.
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const common = {
    out: values.out,
    closerIntervalMs: int('closer-interval-ms', values['closer-interval-ms'], 2_000),
    kafkaBrokers: process.env.KAFKA_BROKERS?.split(','),
    dynamoEndpoint: process.env.AWS_ENDPOINT_URL,
    quiet: values.quiet ?? false,
  };
  switch (command) {
    case 'start': {
      if (!values['real-time'] && (values.rate !== undefined || values.seconds !== undefined)) throw new Error('--rate and --seconds go with --real-time');
      const rate = positive('rate', values.rate, REAL_TIME_DEFAULTS.rate);
      // With --events and no --seconds, real time runs as long as those events take at the rate.
      const seconds = values.seconds === undefined && values.events !== undefined ? int('events', values.events, 0) / rate : positive('seconds', values.seconds, REAL_TIME_DEFAULTS.seconds);
      return runStart({
        ...common,
        chaos: values.chaos,
        source: { kind: 'generate', events: int('events', values.events, 30_000), seed: int('seed', values.seed, 7) },
        ...(values['real-time'] ? { realTime: { rate, seconds } } : {}),
      });
    }
    case 'replay':
      if (!positionals[0]) throw new Error('usage: streamguard replay <events.jsonl>');
      return runStart({ ...common, source: { kind: 'replay', path: positionals[0] } });
    case 'produce': {
      const brokers = (values.brokers ?? process.env.KAFKA_BROKERS)?.split(',');
      if (!brokers) throw new Error('produce needs --brokers host:port[,host:port] (or KAFKA_BROKERS)');
      const seed = int('seed', values.seed, 7);
      let records: ReturnType<typeof generate>['records'];
      let dueAt: number[] | undefined;
      if (values['real-time']) {
        // Paced on the wall clock, as `start --real-time` (local/generator/pace.ts).
        const start = Date.now() + 500;
        ({ records } = generate(realTimeGeneratorOptions({ rate: positive('rate', values.rate, REAL_TIME_DEFAULTS.rate), seconds: positive('seconds', values.seconds, REAL_TIME_DEFAULTS.seconds), seed, start })));
        dueAt = paceSchedule(records, start, Math.max(start, Date.now()));
      } else {
        ({ records } = generate({ events: int('events', values.events, 20_000), seed }));
      }
      const produced = await produceRecords(brokers, records, { dueAt, onProgress: (n) => process.stdout.write(`\rproduced ${n}/${records.length}`) });
      console.log(`\nproduced ${produced.length} records`);
      return 0;
    }
    case 'invoke':
      if (positionals.length < 2) throw new Error('usage: streamguard invoke <ingest|close-windows|dispatch-alerts> <event.json>');
      return runInvoke(positionals[0]!, positionals[1]!);
    case 'top':
      if (!positionals[0]) throw new Error('usage: streamguard top <pipeline> [--by FEATURE] [--n 10]');
      return runTop(positionals[0], values.by, int('n', values.n, 10));
    case 'rules':
      return runRules(positionals[0], positionals[1]);
    case 'verify': {
      const { runVerify } = await import('./verify/verify.ts');
      const result = await runVerify({
        events: int('events', values.events, 20_000),
        seed: int('seed', values.seed, 1),
        chaos: values.chaos ?? false,
        hostile: values.hostile ?? false,
        minFaults: values['min-faults'] === undefined ? undefined : int('min-faults', values['min-faults'], 0),
        out: values.out,
        kafkaBrokers: common.kafkaBrokers,
        dynamoEndpoint: common.dynamoEndpoint,
        quiet: common.quiet,
      });
      if (common.quiet) console.log(result.report);
      return result.ok ? 0 : 1;
    }
    case 'doctor':
      return runDoctor();
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return 0;
    default:
      console.error(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`streamguard: ${err.message}`);
    process.exit(1);
  },
);
