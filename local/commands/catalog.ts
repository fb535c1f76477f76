/**
 * Every streamguard command as one table entry: what it does, its options and positionals, examples
 * for `--help`, and what runs it. local/command-line.ts turns the table into parsing and help.
 */
import { runDoctor } from './doctor.ts';
import { runStart } from './start.ts';
import { runStatus } from './status.ts';
import { runInvoke, runRules, runTop } from './tools.ts';
import { closest, UsageError, type CommandSpec, type OptionSpec, type ParsedArgs } from '../command-line.ts';
import { generate } from '../generator/generate.ts';
import { paceSchedule, realTimeGeneratorOptions, REAL_TIME_DEFAULTS } from '../generator/pace.ts';
import { produceRecords } from '../generator/produce.ts';

/** The program name in usage lines and messages. */
export const PROGRAM = 'streamguard';

const out: OptionSpec = { type: 'string', valueName: 'DIR', help: 'write the event log, summary and alerts here' };
const quiet: OptionSpec = { type: 'boolean', help: 'print only the final summary', default: false };
const closerInterval: OptionSpec = { type: 'int', valueName: 'MS', help: 'how often the closer runs', default: 2_000 };
const tablesNote = 'Tables: WINDOWS_TABLE / STATE_TABLE (as the stack names them) and AWS_ENDPOINT_URL; unset, the local runtime\'s tables on AWS_ENDPOINT_URL.';
/** The environment variables that point the local commands at running services. */
export const servicesNote = 'Services: KAFKA_BROKERS=host:port,... and AWS_ENDPOINT_URL=http://... are used instead of starting the local ones.';

const str = (a: ParsedArgs, name: string) => a.values[name] as string | undefined;
const num = (a: ParsedArgs, name: string) => a.values[name] as number;
const flag = (a: ParsedArgs, name: string) => a.values[name] === true;

function runtimeOptions(a: ParsedArgs) {
  return {
    out: str(a, 'out'),
    closerIntervalMs: num(a, 'closer-interval-ms'),
    kafkaBrokers: process.env.KAFKA_BROKERS?.split(','),
    dynamoEndpoint: process.env.AWS_ENDPOINT_URL,
    quiet: flag(a, 'quiet'),
  };
}

const RULE_ACTIONS = ['list', 'put', 'delete', 'test'];
const FUNCTIONS = ['ingest', 'close-windows', 'dispatch-alerts'];

/** Pacing on the wall clock (local/generator/pace.ts), for start and produce. */
const realTimeOptions: Record<string, OptionSpec> = {
  'real-time': { type: 'boolean', help: 'event time follows the wall clock (its watermark delay is 10 s); prints alert latency, early and at close', default: false },
  rate: { type: 'int', valueName: 'N', help: `with --real-time: events per second (default ${REAL_TIME_DEFAULTS.rate})` },
  seconds: { type: 'int', valueName: 'S', help: `with --real-time: how long to produce (default ${REAL_TIME_DEFAULTS.seconds}; with --events, as long as they take at the rate)` },
};

/** The rate and duration of a real-time run, or undefined without --real-time (where --rate and --seconds have no meaning). */
function realTime(a: ParsedArgs, eventsGiven: boolean): { rate: number; seconds: number } | undefined {
  const rate = a.values.rate as number | undefined;
  const seconds = a.values.seconds as number | undefined;
  if (!flag(a, 'real-time')) {
    if (rate !== undefined || seconds !== undefined) throw new UsageError('--rate and --seconds go with --real-time');
    return undefined;
  }
  for (const [name, v] of [['rate', rate], ['seconds', seconds]] as const) {
    if (v !== undefined && (v <= 0 || v > 1_000_000)) throw new UsageError(`--${name} must be a positive number up to 1000000, got ${v}`);
  }
  const r = rate ?? REAL_TIME_DEFAULTS.rate;
  return { rate: r, seconds: seconds ?? (eventsGiven ? num(a, 'events') / r : REAL_TIME_DEFAULTS.seconds) };
}

/** Every command, in the order `streamguard --help` lists them. */
export const COMMANDS: CommandSpec[] = [
  {
    name: 'start',
    summary: 'everything on this machine: broker, DynamoDB Local, ingest, closer, a generated scenario; progress, alerts, a summary',
    options: {
      events: { type: 'int', help: 'events to generate', default: 30_000 },
      seed: { type: 'int', valueName: 'S', help: 'generator seed (same seed, same scenario)', default: 7 },
      out,
      'closer-interval-ms': closerInterval,
      chaos: { type: 'boolean', help: 'inject every runtime fault kind and count them', default: false },
      quiet,
      ...realTimeOptions,
    },
    notes: [servicesNote],
    examples: ['npm start', 'npm start -- --events 50000 --seed 7 --out out/run1', 'npx streamguard start --events 5000 --chaos', 'npm start -- --real-time --rate 200 --seconds 60'],
    run: (a) => {
      const rt = realTime(a, a.given.has('events'));
      return runStart({ ...runtimeOptions(a), chaos: flag(a, 'chaos'), source: { kind: 'generate', events: num(a, 'events'), seed: num(a, 'seed') }, ...(rt ? { realTime: rt } : {}) });
    },
  },
  {
    name: 'replay',
    summary: 'feed a recorded event log (as start --out writes it) through the pipelines',
    positionals: ['<events.jsonl>'],
    options: { out, 'closer-interval-ms': closerInterval, quiet },
    notes: [servicesNote],
    examples: ['npx streamguard replay out/run1/events.jsonl --out out/run2'],
    run: (a) => runStart({ ...runtimeOptions(a), source: { kind: 'replay', path: a.positionals[0]! } }),
  },
  {
    name: 'produce',
    summary: 'produce a generated scenario to a running Kafka cluster',
    options: {
      brokers: { type: 'string', valueName: 'HOST:PORT[,...]', help: 'bootstrap brokers (default: KAFKA_BROKERS)' },
      events: { type: 'int', help: 'events to generate', default: 20_000 },
      seed: { type: 'int', valueName: 'S', help: 'generator seed', default: 7 },
      ...realTimeOptions,
    },
    examples: ['npx streamguard produce --brokers localhost:9092 --events 1000 --seed 7', 'npx streamguard produce --brokers localhost:9092 --real-time --rate 100 --seconds 30'],
    run: async (a) => {
      const brokers = (str(a, 'brokers') ?? process.env.KAFKA_BROKERS)?.split(',');
      if (!brokers) throw new UsageError('produce: needs --brokers host:port[,host:port] (or KAFKA_BROKERS)');
      const rt = realTime(a, false);
      let records: ReturnType<typeof generate>['records'];
      let dueAt: number[] | undefined;
      if (rt) {
        // Paced on the wall clock, as `start --real-time`.
        const start = Date.now() + 500;
        ({ records } = generate(realTimeGeneratorOptions({ ...rt, seed: num(a, 'seed'), start })));
        dueAt = paceSchedule(records, start, Math.max(start, Date.now()));
      } else {
        ({ records } = generate({ events: num(a, 'events'), seed: num(a, 'seed') }));
      }
      const produced = await produceRecords(brokers, records, { dueAt, onProgress: (n) => process.stdout.write(`\rproduced ${n}/${records.length}`) });
      console.log(`\nproduced ${produced.length} records`);
      return 0;
    },
  },
  {
    name: 'invoke',
    summary: 'run one function on one event against fresh local services; prints its answer, the windows and what was set aside',
    positionals: ['<ingest|close-windows|dispatch-alerts>', '<event.json>'],
    notes: [servicesNote],
    examples: ['npx streamguard invoke ingest events/poison.json', 'npx streamguard invoke close-windows events/scheduled.json', 'npx streamguard invoke dispatch-alerts events/dynamodb-stream.json'],
    run: (a) => {
      const fn = a.positionals[0]!;
      if (!FUNCTIONS.includes(fn)) {
        const near = closest(fn, FUNCTIONS);
        throw new UsageError(`invoke: unknown function "${fn}"${near ? `; did you mean "${near}"?` : `; choose ${FUNCTIONS.join(', ')}`}`);
      }
      return runInvoke(fn, a.positionals[1]!);
    },
  },
  {
    name: 'top',
    summary: "top keys of a pipeline's windows by one feature (a scan: for local and small tables)",
    positionals: ['<pipeline>'],
    options: {
      by: { type: 'string', valueName: 'FEATURE', help: "the feature to rank by (default: the pipeline's first)" },
      n: { type: 'int', help: 'how many keys', default: 10 },
    },
    notes: [tablesNote],
    examples: ['npx streamguard top registrations', 'npx streamguard top payments --by amount --n 5'],
    run: (a) => runTop(a.positionals[0]!, str(a, 'by'), num(a, 'n')),
  },
  {
    name: 'rules',
    summary: 'manage rules: list | put <rule.json> | delete <id> | test <rule.json> (test emits nothing)',
    positionals: ['<list|put|delete|test>', '[rule.json|id]'],
    notes: [tablesNote, 'A rule file: {"id": "pay-5", "pipeline": "payments", "condition": "count > 5", "emitsAlert": true, "alertType": "payment_spree", "level": "MEDIUM", "priority": 5}'],
    examples: ['npx streamguard rules list', 'npx streamguard rules test my-rule.json', 'npx streamguard rules put my-rule.json', 'npx streamguard rules delete pay-5'],
    run: (a) => {
      const [action, arg] = a.positionals;
      if (!RULE_ACTIONS.includes(action!)) {
        const near = closest(action!, RULE_ACTIONS);
        throw new UsageError(`rules: unknown action "${action}"${near ? `; did you mean "${near}"?` : `; choose ${RULE_ACTIONS.join(', ')}`}`);
      }
      if (action !== 'list' && arg === undefined) throw new UsageError(`rules ${action}: missing ${action === 'delete' ? '<id>' : '<rule.json>'}`);
      return runRules(action, arg);
    },
  },
  {
    name: 'status',
    summary: 'where the system stands: per pipeline the watermark, open and due windows, recent closes and side output; per partition offsets and lag',
    notes: [
      'Tables: WINDOWS_TABLE / STATE_TABLE / SIDE_OUTPUT_TABLE (as the stack names them) and AWS_ENDPOINT_URL; unset, the local runtime\'s tables. Lag needs KAFKA_BROKERS.',
      'Open and due windows are counted on the due index; closes and side output of the last hour are scans (fine locally and on small tables).',
    ],
    examples: ['npx streamguard status', 'WINDOWS_TABLE=prod-windows STATE_TABLE=prod-state SIDE_OUTPUT_TABLE=prod-side-output npx streamguard status'],
    run: () => runStatus(),
  },
  {
    name: 'verify',
    summary: 'run the system on a generated log (faults with --chaos), the DuckDB reference on the same log, compare; exits 1 on any difference',
    options: {
      events: { type: 'int', help: 'events to generate', default: 20_000 },
      seed: { type: 'int', valueName: 'S', help: 'generator seed', default: 1 },
      chaos: { type: 'boolean', help: 'inject every runtime fault kind', default: false },
      hostile: { type: 'boolean', help: 'mix in the hostile family of records', default: false },
      'min-faults': { type: 'int', valueName: 'K', help: 'fail unless every fault kind was injected at least K times' },
      out,
      quiet,
    },
    notes: [servicesNote],
    examples: ['npm run verify', 'npm run verify -- --events 100000 --seed 20261123 --chaos --hostile --min-faults 50'],
    run: async (a) => {
      const { runVerify } = await import('../verify/verify.ts');
      const o = runtimeOptions(a);
      const result = await runVerify({
        events: num(a, 'events'),
        seed: num(a, 'seed'),
        chaos: flag(a, 'chaos'),
        hostile: flag(a, 'hostile'),
        minFaults: a.values['min-faults'] as number | undefined,
        out: o.out,
        kafkaBrokers: o.kafkaBrokers,
        dynamoEndpoint: o.dynamoEndpoint,
        quiet: o.quiet,
      });
      if (o.quiet) console.log(result.report);
      return result.ok ? 0 : 1;
    },
  },
  {
    name: 'doctor',
    summary: 'check the prerequisites, say which route each service takes and what to install; builds the local Kafka host if needed',
    notes: ['STREAMGUARD_LIBRDKAFKA=system|npm forces how the local Kafka host is built (unset: the system librdkafka when present, else from npm).'],
    examples: ['npx streamguard doctor', 'STREAMGUARD_LIBRDKAFKA=npm npx streamguard doctor'],
    run: () => runDoctor(),
  },
];

