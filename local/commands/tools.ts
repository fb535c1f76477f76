/** `invoke`, `top` and `rules`: working with one function or with stored state. */
import { DEFAULT_WATERMARK_DELAY_MS } from '../../lib/config/deployment.ts';
import { readFile } from 'node:fs/promises';
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { ruleTiming } from '../../lib/rules/early.ts';
import { compileCondition, featureSchemaOf } from '../../lib/rules/expression.ts';
import { wireRules } from '../../lib/rules/wire.ts';
import { windowsOfStored } from '../../lib/windows/merge-buckets.ts';
import type { RuleInput } from '../../lib/rules/rule.ts';
import { isSequenceInput, validateSequenceRule, type SequenceRule, type SequenceRuleInput } from '../../lib/sequences/rule.ts';
import { scanWindows } from '../../lib/store/dynamodb/scan-windows.ts';
import { isDistinctSummary, magnitudeOf } from '../../lib/pipelines/features.ts';
import { featuresOf, type Features } from '../../lib/windows/features-of.ts';
import { HLL_ERROR_BOUND } from '../../lib/windows/hll.ts';
import { localTableNames } from '../services/tables.ts';
import { lambdaContext, loadFunctions } from '../runtime/functions.ts';
import { startServices } from '../runtime/services.ts';

/** Tables named by the environment (as the stack sets them), else the local runtime's names. */
function tables() {
  const local = localTableNames();
  return { windows: process.env.WINDOWS_TABLE ?? local.windows, state: process.env.STATE_TABLE ?? local.state };
}

/** Runs one function on an event file against fresh local services and prints its answer. */
export async function runInvoke(fn: string, eventPath: string): Promise<number> {
  if (fn !== 'ingest' && fn !== 'close-windows' && fn !== 'dispatch-alerts') throw new Error(`unknown function "${fn}"; choose ingest, close-windows or dispatch-alerts`);
  const event = JSON.parse(await readFile(eventPath, 'utf8'));
  const services = await startServices({ kafkaBrokers: process.env.KAFKA_BROKERS?.split(','), dynamoEndpoint: process.env.AWS_ENDPOINT_URL });
  try {
    // The deployed defaults (the closer validates these as it would at cold start: a TTL must be > 0).
    const functions = await loadFunctions(services, { watermarkDelayMs: DEFAULT_WATERMARK_DELAY_MS, idleTimeoutMs: 300_000, ruleCacheTtlMs: 30_000 });
    const context = lambdaContext(`streamguard-${fn}`, 60_000);
    const answer =
      fn === 'ingest' ? await functions.ingest(event, context) : fn === 'close-windows' ? await functions.closeWindows(event, context) : await functions.dispatchAlerts(event, context);
    console.log(JSON.stringify(answer, null, 2));
    const byName = new Map(builtinPipelines.map((p) => [p.name, p]));
    for (const w of await scanWindows(services.client, services.tables.windows)) {
      console.log(`${w.pipeline} key=${w.key} window ${new Date(w.windowStart).toISOString()} ${JSON.stringify(featuresOf(byName.get(w.pipeline)!, w.slots))}`);
    }
    // What was set aside, and why: the point of invoking ingest on events/poison.json.
    for await (const page of paginateScan({ client: services.client }, { TableName: services.tables.sideOutput })) {
      for (const item of page.Items ?? []) {
        console.log(`${item.kind?.S} ${item.topic?.S}-${item.partition?.N}@${item.offset?.N}${item.pipeline?.S ? ` [${item.pipeline.S}]` : ''}: ${item.reason?.S}`);
      }
    }
    await functions.shutdown();
    return 0;
  } finally {
    await services.stop();
  }
}

/** Top-N keys of a pipeline's windows by one feature (a scan: for local and small tables). */
export async function runTop(pipelineName: string, feature: string | undefined, n: number): Promise<number> {
  const pipeline = builtinPipelines.find((p) => p.name === pipelineName);
  if (!pipeline) throw new Error(`unknown pipeline "${pipelineName}"; choose one of ${builtinPipelines.map((p) => p.name).join(', ')}`);
  const by = feature ?? Object.keys(pipeline.features)[0]!;
  if (!(by in pipeline.features)) throw new Error(`pipeline ${pipelineName} has no feature "${by}"; it has ${Object.keys(pipeline.features).join(', ')}`);
  const client = new DynamoDBClient({});
  // A hopping pipeline stores buckets: its windows are merged from them, as the closer merges them.
  const rows = windowsOfStored(pipeline, (await scanWindows(client, tables().windows)).filter((w) => w.pipeline === pipelineName))
    .map((w) => ({ w, features: featuresOf(pipeline, w.slots) }))
    .map((r) => ({ ...r, score: magnitudeOf(r.features[by]) ?? -Infinity }))
    .sort((a, b) => b.score - a.score)
    .slice(0, n);
  console.table(rows.map(({ w, features }) => topRow(w, features)));
  if (rows.some(({ features }) => Object.values(features).some((v) => isDistinctSummary(v) && v.approximate))) {
    console.log(`~N: an approximate distinct count (the feature passed its exactUpTo cap), within ±${(HLL_ERROR_BOUND * 100).toFixed(1)}% of the true count`);
  }
  client.destroy();
  return 0;
}

/**
 * One line of `top`: distinct features as counts ("~N" when approximate), never their values, so a
 * hot key's line stays one line.
 */
export function topRow(w: { key: string; windowStart: number; closedAt: number | undefined }, features: Features): Record<string, string | number | boolean | null> {
  const row: Record<string, string | number | boolean | null> = { key: w.key, window: new Date(w.windowStart).toISOString(), closed: w.closedAt !== undefined };
  for (const [name, v] of Object.entries(features)) {
    if (Array.isArray(v)) row[name] = v.length;
    else if (isDistinctSummary(v)) row[name] = v.approximate ? `~${v.count}` : v.count;
    else row[name] = v;
  }
  return row;
}

/** `rules list | put <file.json> | delete <id> | test <file.json>` on the state table. */
export async function runRules(action: string | undefined, arg: string | undefined): Promise<number> {
  const client = new DynamoDBClient({});
  const { store } = wireRules(client, { stateTable: tables().state, validateSequence: validateSequenceRule, log: { warn: (message, ...extra) => console.warn(`rules: ${message}`, ...extra) } });
  try {
    switch (action) {
      case 'list': {
        const { rules, sequences } = await store.listAll();
        if (rules.length === 0) console.log('no stored rules: the built-in defaults apply (see lib/rules/defaults.ts)');
        for (const r of rules) {
          console.log(`${r.id}  [${r.pipeline}] ${r.enabled ? '' : '(disabled) '}p${r.priority} ${r.condition} -> ${r.level ?? ''} ${r.emitsAlert ? `alert ${r.alertType}` : ''}`);
          console.log(`  fires ${timingLine(r)}`);
        }
        if (sequences.length === 0) console.log('no stored sequence rules: the built-in default applies (see lib/sequences/defaults.ts)');
        for (const r of sequences) printSequence(r);
        return 0;
      }
      case 'put': {
        const input: unknown = JSON.parse(await readFile(need(arg, 'a rule JSON file'), 'utf8'));
        if (isSequenceInput(input)) {
          const rule = await store.putSequence(input as SequenceRuleInput);
          console.log(`stored sequence rule ${rule.id} (version ${rule.version}); ingest picks it up within a minute`);
          printSequence(rule);
          return 0;
        }
        const rule = await store.put(input as RuleInput);
        console.log(`stored rule ${rule.id} (version ${rule.version}); ingest and the closer pick it up within a minute`);
        console.log(`  fires ${timingLine(rule)}`);
        return 0;
      }
      case 'delete':
        console.log((await store.delete(need(arg, 'a rule id'))) ? 'deleted' : 'no such rule');
        return 0;
      case 'test': {
        const raw: unknown = JSON.parse(await readFile(need(arg, 'a rule JSON file'), 'utf8'));
        if (isSequenceInput(raw)) {
          // Sequence state holds no events to replay: the test is the validation, with what it means.
          printSequence(validateSequenceRule(raw));
          console.log('  valid (nothing stored or emitted); it is judged at ingest on each event of its topic');
          return 0;
        }
        const input = raw as { pipeline: string; condition: string; emitsAlert?: boolean; alertType?: string };
        const pipeline = builtinPipelines.find((p) => p.name === input.pipeline);
        if (!pipeline) throw new Error(`unknown pipeline "${input.pipeline}"`);
        const condition = compileCondition(input.condition, featureSchemaOf(pipeline));
        const windows = windowsOfStored(pipeline, (await scanWindows(client, tables().windows)).filter((w) => w.pipeline === pipeline.name));
        const hits = windows.filter((w) => condition.test(featuresOf(pipeline, w.slots)));
        console.log(`"${input.condition}" matches ${hits.length} of ${windows.length} stored ${pipeline.name} windows (nothing emitted)`);
        console.log(`  fires ${timingLine({ ...input, emitsAlert: input.emitsAlert ?? input.alertType !== undefined })}`);
        for (const w of hits.slice(0, 20)) console.log(`  ${w.key} ${new Date(w.windowStart).toISOString()} ${JSON.stringify(featuresOf(pipeline, w.slots))}`);
        return 0;
      }
      default:
        throw new Error('usage: streamguard rules list | put <rule.json> | delete <id> | test <rule.json>');
    }
  } finally {
    client.destroy();
  }
}

/** A sequence rule as `rules list` prints it: its steps in order and the time they must fit in. */
function printSequence(r: SequenceRule): void {
  console.log(`${r.id}  [sequence ${r.topic} by ${r.key}] ${r.enabled ? '' : '(disabled) '}within ${r.within} -> ${r.level} alert ${r.alertType}`);
  r.steps.forEach((s, i) => console.log(`  ${i + 1}. ${s.name}: ${s.condition}`));
  console.log('  fires at ingest, when the last step\'s event is applied');
}

/** "early: ..." or "at close: ...": when a rule's alert is raised and why (lib/rules/early.ts). */
export function timingLine(rule: Parameters<typeof ruleTiming>[0]): string {
  return ruleTiming(rule, builtinPipelines).reason;
}

function need(v: string | undefined, what: string): string {
  if (!v) throw new Error(`missing argument: ${what}`);
  return v;
}
