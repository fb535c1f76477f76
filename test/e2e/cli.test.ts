/**
 * Every command the README shows, run as a user runs it (`npx streamguard ...`, `npm start -- ...`,
 * `npm run verify -- ...`, `npm run bench -- ...`) against local services: the embedded broker and
 * DynamoDB Local. `npm run synth` is in test/infra/synth-cli.test.ts; `npm test` is this suite.
 * Not run here, because they need an AWS account or LocalStack: `cdk bootstrap|diff|deploy|destroy`,
 * `npm run deploy:local|destroy:local`, `awslocal lambda invoke`, `localstack start`.
 *
 * Commands that start their own services (start, replay, invoke, verify) get no AWS_ENDPOINT_URL or
 * KAFKA_BROKERS, as on a laptop; `top`, `rules` and `produce` are pointed at services started here.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../infra/streamguard-stack.ts';
import type { KafkaEvent } from '../../lib/codec/kafka-event.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import { defaultMappings } from '../../lib/config/deployment.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { wireIngest } from '../../lib/ingest/wire.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { scanWindows } from '../../lib/store/dynamodb/scan-windows.ts';
import type { TableNames } from '../../lib/store/tables.ts';
import { featuresOf } from '../../lib/windows/features-of.ts';
import { startMockKafka, type MockKafka } from '../../local/broker/mock-kafka.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';

const BIN = join(REPO_ROOT, 'local/bin/streamguard.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'streamguard-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a shell with no services configured, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_DYNAMODB', 'KAFKA_BROKERS', 'WINDOWS_TABLE', 'STATE_TABLE', 'SIDE_OUTPUT_TABLE', 'ALERTS_TABLE']) delete env[k];
  return { ...env, ...extra };
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: REPO_ROOT, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `npx streamguard <args>` without npx's own start-up: the same bin script npx resolves. */
const streamguard = (args: string[], env: NodeJS.ProcessEnv = cleanEnv(), timeoutMs?: number) => run(process.execPath, [BIN, ...args], env, timeoutMs);
const npm = (args: string[], env: NodeJS.ProcessEnv = cleanEnv(), timeoutMs?: number) => run('npm', args, env, timeoutMs);
const explain = (r: Run) => `exit ${r.code}\nstdout:\n${r.stdout.slice(-3000)}\nstderr:\n${r.stderr.slice(-3000)}`;

describe('the bin and doctor', () => {
  it('npx streamguard doctor: every prerequisite present on this machine', async () => {
    const r = await run('npx', ['streamguard', 'doctor'], cleanEnv());
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/^ok {4}Node\.js 20\.11 or newer$/m);
    expect(r.stdout).toMatch(/^ok {4}Java 17\+/m);
    expect(r.stdout).toMatch(/all prerequisites present/);
  });
});

describe('the command line explains itself', () => {
  it('npx streamguard rules --help: its own usage and examples, exit 0', async () => {
    const r = await streamguard(['rules', '--help']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/^usage: streamguard rules <list\|put\|delete\|test>/);
    expect(r.stdout).toMatch(/^examples:\n {2}npx streamguard rules list$/m);
  });

  it('an unknown option or command is named with the closest valid one, exit 2', async () => {
    const option = await streamguard(['start', '--evnts', '5']);
    expect(option.code, explain(option)).toBe(2);
    expect(option.stderr).toMatch(/unknown option --evnts; did you mean --events\?/);
    const command = await streamguard(['verfy']);
    expect(command.code, explain(command)).toBe(2);
    expect(command.stderr).toMatch(/unknown command "verfy"; did you mean "verify"\?/);
  });
});

describe('invoke: one function on one event against fresh local services', () => {
  it('npx streamguard invoke ingest events/poison.json: quarantines each poison record with its reason, applies the rest', async () => {
    const r = await streamguard(['invoke', 'ingest', 'events/poison.json']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toContain('"batchItemFailures": []');
    const event = JSON.parse(readFileSync(join(REPO_ROOT, 'events/poison.json'), 'utf8')) as KafkaEvent;
    const offsets = Object.values(event.records).flat().map((rec) => `${rec.topic}-${rec.partition}@${rec.offset}`);
    const quarantined = [...r.stdout.matchAll(/^quarantine (\S+): (.+)$/gm)].map((m) => ({ at: m[1]!, reason: m[2]! }));
    expect(quarantined.length).toBeGreaterThan(0);
    for (const q of quarantined) expect(offsets).toContain(q.at);
    // The README's example reason, from the record of events/poison.json that carries a string amount.
    expect(quarantined.map((q) => q.reason)).toContain('field "amount": expected a number');
    expect(r.stdout).toMatch(/^payments key=\S+ window /m);
  });

  it('npx streamguard invoke close-windows events/scheduled.json: one closer run, its report printed', async () => {
    const r = await streamguard(['invoke', 'close-windows', 'events/scheduled.json']);
    expect(r.code, explain(r)).toBe(0);
    const report = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'), r.stdout.lastIndexOf('}') + 1)) as { pipelines: { pipeline: string }[]; incomplete: boolean };
    expect(report.pipelines.map((p) => p.pipeline).sort()).toEqual(builtinPipelines.map((p) => p.name).sort());
    expect(report.incomplete).toBe(false);
  });
});

describe('invoke dispatch-alerts', () => {
  it('npx streamguard invoke dispatch-alerts events/dynamodb-stream.json: the sample alert goes to the topic, the result record is skipped', async () => {
    const r = await streamguard(['invoke', 'dispatch-alerts', 'events/dynamodb-stream.json']);
    expect(r.code, explain(r)).toBe(0);
    expect(JSON.parse(r.stdout.slice(r.stdout.indexOf('{'), r.stdout.lastIndexOf('}') + 1))).toEqual({ batchItemFailures: [] });
  });
});

describe('top and rules against stored windows (WINDOWS_TABLE, STATE_TABLE, AWS_ENDPOINT_URL)', () => {
  let client: DynamoDBClient;
  let tables: TableNames;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    client = localClient();
    tables = await freshTables(client);
    const config = loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput, RETENTION_DAYS: '3650' });
    const ingest = createIngestHandler(wireIngest(client, config));
    for (const name of ['payments', 'risk', 'registrations', 'iot']) {
      await ingest(JSON.parse(readFileSync(join(REPO_ROOT, `events/${name}.json`), 'utf8')) as KafkaEvent);
    }
    env = cleanEnv({ AWS_ENDPOINT_URL: inject('dynamoEndpoint'), WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
  });
  afterAll(() => client?.destroy());

  async function stored(pipelineName: string) {
    const pipeline = builtinPipelines.find((p) => p.name === pipelineName)!;
    return (await scanWindows(client, tables.windows)).filter((w) => w.pipeline === pipelineName).map((w) => ({ key: w.key, features: featuresOf(pipeline, w.slots) }));
  }

  it('npx streamguard top registrations: the keys with the most registrations first', async () => {
    const windows = await stored('registrations');
    expect(windows.length).toBeGreaterThan(0);
    const best = [...windows].sort((a, b) => (b.features.registrations as number) - (a.features.registrations as number))[0]!;
    const r = await streamguard(['top', 'registrations'], env);
    expect(r.code, explain(r)).toBe(0);
    const firstRow = r.stdout.split('\n').find((l) => /^│\s*0\s*│/.test(l));
    expect(firstRow, r.stdout).toContain(best.key);
    expect(r.stdout).toContain(String(best.features.registrations));
  });

  it('npx streamguard top payments --by amount --n 1: one row, the largest amount', async () => {
    const windows = await stored('payments');
    const best = [...windows].sort((a, b) => (b.features.amount as number) - (a.features.amount as number))[0]!;
    const r = await streamguard(['top', 'payments', '--by', 'amount', '--n', '1'], env);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout.split('\n').filter((l) => /^│\s*\d+\s*│/.test(l))).toHaveLength(1);
    expect(r.stdout).toContain(best.key);
  });

  it('npx streamguard status: each pipeline with its windows, each applied partition with its offset and event time', async () => {
    const r = await streamguard(['status'], { ...env, SIDE_OUTPUT_TABLE: tables.sideOutput });
    expect(r.code, explain(r)).toBe(0);
    for (const p of builtinPipelines) expect(r.stdout).toMatch(new RegExp(`^ {2}${p.name} +watermark .* open \\d+ {2}due \\d+`, 'm'));
    const payments = await stored('payments');
    // The sample events were ingested but never closed: every window is open, none closed.
    expect(r.stdout).toMatch(new RegExp(`^ {2}payments +watermark - \\(none yet\\) {2}open ${payments.length} {2}due 0 {2}closed last hour 0$`, 'm'));
    expect(r.stdout).toMatch(/^ {2}user_events-\d+ +offset \d+ {2}event time \d{4}-/m);
    expect(r.stdout).toMatch(/side output, last hour: quarantine \d+, late \d+/);
  });

  it('npx streamguard rules put | list | test | delete, with the README\'s rule file', async () => {
    const rule = { id: 'pay-5', pipeline: 'payments', condition: 'count > 5', emitsAlert: true, alertType: 'payment_spree', level: 'MEDIUM', priority: 5 };
    const ruleFile = join(tmp, 'rule.json');
    writeFileSync(ruleFile, JSON.stringify(rule));

    const put = await streamguard(['rules', 'put', ruleFile], env);
    expect(put.code, explain(put)).toBe(0);
    expect(put.stdout).toMatch(/stored rule pay-5 \(version 1\)/);
    expect(put.stdout).toMatch(/^ {2}fires early: the condition can only turn true as events arrive \(count never decreases\)$/m);

    const list = await streamguard(['rules', 'list'], env);
    expect(list.code, explain(list)).toBe(0);
    expect(list.stdout).toMatch(/^pay-5 +\[payments\] .*count > 5.*\n {2}fires early: /m);

    const windows = await stored('payments');
    const hits = windows.filter((w) => (w.features.count as number) > 5).length;
    const test = await streamguard(['rules', 'test', ruleFile], env);
    expect(test.code, explain(test)).toBe(0);
    expect(test.stdout).toContain(`"count > 5" matches ${hits} of ${windows.length} stored payments windows (nothing emitted)`);
    writeFileSync(join(tmp, 'mean.json'), JSON.stringify({ pipeline: 'payments', condition: 'amount / count > 100', alertType: 'big_spender' }));
    const atClose = await streamguard(['rules', 'test', join(tmp, 'mean.json')], env);
    expect(atClose.stdout).toMatch(/^  fires at close: `amount \/ count` divides by a feature \(a ratio\), which can move either way$/m);

    const badFile = join(tmp, 'bad-rule.json');
    writeFileSync(badFile, JSON.stringify({ ...rule, id: 'bad', condition: 'count >' }));
    const bad = await streamguard(['rules', 'put', badFile], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^streamguard: .*condition/m);

    const del = await streamguard(['rules', 'delete', 'pay-5'], env);
    expect(del.stdout.trim()).toBe('deleted');
    expect((await streamguard(['rules', 'delete', 'pay-5'], env)).stdout.trim()).toBe('no such rule');
    expect((await streamguard(['rules', 'list'], env)).stdout).toMatch(/no stored rules/);
  });

  it("npx streamguard rules put | list | test | delete with the README's sequence rule, and its errors by field", async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Sequence rules'), readme.indexOf('## What is promised'));
    const second = [...section.matchAll(/```json\n([\s\S]*?)```/g)][1]![1]!;
    const file = join(tmp, 'failed-logins.json');
    writeFileSync(file, second);
    const listedBefore = await streamguard(['rules', 'list'], env);
    expect(listedBefore.stdout).toMatch(/no stored sequence rules: the built-in default applies/);
    const tested = await streamguard(['rules', 'test', file], env);
    expect(tested.code, explain(tested)).toBe(0);
    expect(tested.stdout).toMatch(/^failed-logins-then-success +\[sequence user_events by userId\] within 5m -> MEDIUM alert credential_stuffing$/m);
    const put = await streamguard(['rules', 'put', file], env);
    expect(put.code, explain(put)).toBe(0);
    expect(put.stdout).toMatch(/stored sequence rule failed-logins-then-success \(version 1\)/);
    const list = await streamguard(['rules', 'list'], env);
    expect(list.stdout).toMatch(/^ {2}4\. success: e\.action == 'login'$/m);
    writeFileSync(join(tmp, 'bad-seq.json'), JSON.stringify({ ...JSON.parse(second), within: '2d', steps: [{ name: 'a', condition: 'e.amout > 1' }, { name: 'b', condition: 'true' }] }));
    const bad = await streamguard(['rules', 'put', join(tmp, 'bad-seq.json')], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/within: must be at most 24h; steps\.0\.condition: e\.amout is not a field of the event/);
    expect((await streamguard(['rules', 'delete', 'failed-logins-then-success'], env)).stdout.trim()).toBe('deleted');
  });
});

describe('produce to a running cluster', () => {
  let kafka: MockKafka;
  beforeAll(async () => {
    kafka = await startMockKafka({ brokers: 1, topics: defaultMappings.map((m) => ({ name: m.topic, partitions: m.partitions })) });
  });
  afterAll(() => kafka?.stop());

  it('npx streamguard produce --brokers h:p --events 300 --seed 7: every record reaches the topics', async () => {
    const brokers = kafka.bootstrapServers.join(',');
    const r = await streamguard(['produce', '--brokers', brokers, '--events', '300', '--seed', '7']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/produced 300 records/);
    const admin = new Kafka({ clientId: 'cli-test', brokers: kafka.bootstrapServers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      let total = 0;
      for (const m of defaultMappings) for (const p of await admin.fetchTopicOffsets(m.topic)) total += Number(p.high);
      expect(total).toBe(300);
    } finally {
      await admin.disconnect();
    }
  });

  it('npx streamguard produce --brokers h:p --real-time --rate 100 --seconds 2: its 200 records reach the topics (pacing itself: test/local/generator.test.ts)', async () => {
    const before = await topicTotal(kafka);
    const r = await streamguard(['produce', '--brokers', kafka.bootstrapServers.join(','), '--real-time', '--rate', '100', '--seconds', '2']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/produced 200 records/);
    expect((await topicTotal(kafka)) - before).toBe(200);
  });
});

async function topicTotal(kafka: MockKafka): Promise<number> {
  const admin = new Kafka({ clientId: 'cli-test', brokers: kafka.bootstrapServers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    let total = 0;
    for (const m of defaultMappings) for (const p of await admin.fetchTopicOffsets(m.topic)) total += Number(p.high);
    return total;
  } finally {
    await admin.disconnect();
  }
}

describe('start, replay and verify on this machine', () => {
  const first = join(tmp, `run-${randomUUID().slice(0, 6)}`);

  it('npm start -- --events 1500 --seed 7 --out DIR: the demo end to end, its files written', async () => {
    const r = await npm(['start', '--', '--events', '1500', '--seed', '7', '--out', first, '--quiet']);
    expect(r.code, explain(r)).toBe(0);
    // --quiet keeps the final summary (and only it).
    expect(r.stdout).toMatch(/^summary: 1500 events, /m);
    expect(r.stdout).not.toMatch(/processed \d+\/1500/);
    expect(readFileSync(join(first, 'events.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1500);
    const summary = JSON.parse(readFileSync(join(first, 'summary.json'), 'utf8')) as { events: number; quarantined: number; malformed: number };
    expect(summary.events).toBe(1500);
    expect(summary.quarantined).toBe(summary.malformed);
  }, 300_000);

  it('npm start -- --real-time --rate 100 --seconds 10 --out DIR: paced on the wall clock, alert latency in the summary', async () => {
    const out = join(tmp, 'real-time');
    const before = Date.now();
    const r = await npm(['start', '--', '--real-time', '--rate', '100', '--seconds', '10', '--out', out]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/^real time: 1000 events \(seed 7\) at 100\/s for 10 s/m);
    expect(r.stdout).toMatch(/^ {4}alert latency +early +at close$/m);
    expect(r.stdout).toMatch(/^ {4}to the Kafka topic /m);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { events: number; realTime: { rate: number; seconds: number }; latency: { early: object; close: { scheduleIntervalMs: number } }; seconds: { produce: number } };
    expect(summary.events).toBe(1000);
    expect(summary.realTime).toMatchObject({ rate: 100, seconds: 10 });
    expect(summary.latency.close.scheduleIntervalMs).toBe(2000);
    // The timeline starts when the run does, and production is paced: 1,000 records at 100/s take
    // at least their 10 s of timeline (a lower bound, which slowness cannot break).
    const stamps = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { timestamp: number }).timestamp);
    expect(Math.min(...stamps)).toBeGreaterThanOrEqual(before);
    expect(Math.max(...stamps)).toBeLessThanOrEqual(Date.now());
    expect(summary.seconds.produce).toBeGreaterThanOrEqual(9.9);
  }, 300_000);

  it('npx streamguard replay DIR/events.jsonl --out DIR2: the same log gives the same alerts', async () => {
    const second = `${first}-replay`;
    const r = await streamguard(['replay', join(first, 'events.jsonl'), '--out', second, '--quiet']);
    expect(r.code, explain(r)).toBe(0);
    const ids = (dir: string) =>
      readFileSync(join(dir, 'alerts.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { id: string }).id)
        .sort();
    expect(ids(second)).toEqual(ids(first));
    expect(readFileSync(join(second, 'events.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1500);
  }, 300_000);

  it('npm run verify -- --events 1000 --seed 3 --out DIR: the system matches the reference', async () => {
    const out = join(tmp, 'verify');
    // The generator's event times start on 2026-11-23, and window items expire RETENTION_DAYS (7)
    // after their window ends: since 2026-11-30 DynamoDB Local's TTL sweeper deletes them mid-run
    // (39 events lost at this size with the default; 0 with this). Reported for issue 11, item 11.
    const r = await npm(['run', 'verify', '--', '--events', '1000', '--seed', '3', '--out', out, '--quiet'], cleanEnv({ RETENTION_DAYS: '3650' }));
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/RESULT: OK \(0 differences\)/);
    expect(readFileSync(join(out, 'report.txt'), 'utf8')).toMatch(/RESULT: OK/);
  }, 300_000);
});

describe('bench', () => {
  it('npm run bench -- --help lists the sections and sizes', async () => {
    const r = await npm(['run', '-s', 'bench', '--', '--help']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/usage: npm run bench/);
  });

  it('npm run -s bench -- ingest --json (small sizes) prints one JSON object', async () => {
    const r = await npm(['run', '-s', 'bench', '--', 'ingest', '--json', '--events', '300', '--rounds', '1', '--batch-sizes', '100']);
    expect(r.code, explain(r)).toBe(0);
    const figures = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(figures)).toContain('ingest');
  }, 240_000);
});
