/**
 * The event source mapping emulator against the real (mock) Kafka protocol: AWS event shape,
 * batching, retries, ReportBatchItemFailures, the on-failure topic, and stop/restart resuming from
 * committed offsets. No part of Kafka is mocked in-process.
 */
import { Kafka, Partitioners, logLevel, type Message, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchItemFailuresResponse, KafkaEvent, KafkaEventRecord } from '../../lib/codec/kafka-event.ts';
import { startMockKafka, type MockKafka } from '../../local/broker/mock-kafka.ts';
import { effectiveBatchingWindowS, FAILURE_HEADERS, parseEventSourceMappingConfig, RETRY_CAP_WITH_DESTINATION, type EventSourceMappingInput } from '../../local/esm/config.ts';
import { createEventSourceMapping, type EsmLogger, type EventSourceMapping, type KafkaLambdaHandler } from '../../local/esm/event-source-mapping.ts';
import { toAwsHeaders } from '../../local/esm/records.ts';

let broker: MockKafka;
let kafka: Kafka;
let producer: Producer;
const running: EventSourceMapping[] = [];

const quiet: EsmLogger = { info: () => {}, warn: () => {}, error: (m, d) => console.error(m, d) };
// Lowest session timeout the mock allows: a restarted member waits session timeout - 1 s to rejoin.
const FAST_LOCAL = { sessionTimeoutMs: 4_000, heartbeatIntervalMs: 300, retryBackoffBaseMs: 20, retryBackoffMaxMs: 200 };

beforeAll(async () => {
  broker = await startMockKafka({ brokers: 2, topics: [] });
  kafka = new Kafka({ clientId: 'esm-test', brokers: broker.bootstrapServers, logLevel: logLevel.NOTHING });
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

afterAll(async () => {
  await Promise.all(running.map((m) => m.stop()));
  await producer?.disconnect();
  await broker?.stop();
});

/** Collects every event the handler receives; `behaviour` decides what each invocation returns. */
function recorder(behaviour: (event: KafkaEvent, call: number) => Promise<unknown> | unknown = () => undefined) {
  const events: KafkaEvent[] = [];
  const handler: KafkaLambdaHandler = async (event) => {
    events.push(structuredClone(event));
    return behaviour(event, events.length);
  };
  const records = () => events.flatMap((e) => Object.values(e.records).flat());
  return { events, handler, records };
}

function mapping(config: Omit<EventSourceMappingInput, 'bootstrapServers'>, handler: KafkaLambdaHandler): EventSourceMapping {
  const esm = createEventSourceMapping({
    config: { bootstrapServers: broker.bootstrapServers, ...config, local: { ...FAST_LOCAL, ...config.local } },
    handler,
    logger: quiet,
  });
  running.push(esm);
  return esm;
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function produce(topic: string, messages: Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 500) await producer.send({ topic, messages: messages.slice(i, i + 500) });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('config', () => {
  it('applies the AWS defaults and CDK property names', () => {
    const c = parseEventSourceMappingConfig({ topic: 't', bootstrapServers: ['localhost:9092'] });
    expect(c).toMatchObject({
      batchSize: 100,
      startingPosition: 'TRIM_HORIZON',
      retryAttempts: -1,
      maxRecordAge: -1,
      bisectBatchOnError: false,
      reportBatchItemFailures: false,
      eventSource: 'aws:kafka',
    });
    expect(c.local.maxPayloadBytes).toBe(6 * 1024 * 1024);
    // No window given: AWS's Kafka default of 500 ms, which CloudFormation's whole seconds cannot
    // say; a window given, 0 included, is kept as given.
    expect(c.maxBatchingWindow).toBeUndefined();
    expect(effectiveBatchingWindowS(c.maxBatchingWindow)).toBe(0.5);
    for (const w of [0, 1, 2.5]) {
      expect(effectiveBatchingWindowS(parseEventSourceMappingConfig({ topic: 't', bootstrapServers: ['localhost:9092'], maxBatchingWindow: w }).maxBatchingWindow)).toBe(w);
    }
  });

  it('rejects values AWS rejects', () => {
    const base = { topic: 't', bootstrapServers: ['localhost:9092'] };
    expect(() => parseEventSourceMappingConfig({ ...base, batchSize: 10_001 })).toThrow();
    expect(() => parseEventSourceMappingConfig({ ...base, maxBatchingWindow: 301 })).toThrow();
    expect(() => parseEventSourceMappingConfig({ ...base, onFailure: 't' })).toThrow(/onFailure/);
    expect(() => parseEventSourceMappingConfig({ ...base, topic: 'no spaces' })).toThrow();
  });

  it('unfolds repeated headers into one entry each, as byte arrays', () => {
    expect(toAwsHeaders({ a: Buffer.from('hi'), b: [Buffer.from('x'), Buffer.from('y')], c: 'z' })).toEqual([
      { a: [104, 105] },
      { b: [120] },
      { b: [121] },
      { c: [122] },
    ]);
  });
});

// Concurrent: each test has its own topics and group, and most of each test is the mock's 3 s group join.
describe.concurrent('event source mapping on the mock cluster', () => {
  it('delivers every record once, in AWS event shape, in per-partition order, within batchSize', async () => {
    await broker.createTopic('shape', 3);
    const sent = Array.from({ length: 300 }, (_, i) => ({
      partition: i % 3,
      key: i % 10 === 0 ? null : `user-${i}`,
      value: JSON.stringify({ i }),
      headers: { trace: `t${i}`, dup: [`a${i}`, `b${i}`] },
    }));
    await produce('shape', sent);
    const rec = recorder();
    const esm = mapping({ topic: 'shape', consumerGroupId: 'shape-g', batchSize: 40 }, rec.handler);
    await esm.start();
    await waitFor('300 records', () => rec.records().length >= 300);
    await esm.stop();

    expect(rec.records()).toHaveLength(300);
    const lastOffset = new Map<string, number>();
    for (const event of rec.events) {
      expect(event.eventSource).toBe('aws:kafka');
      expect(event.eventSourceArn).toMatch(/^arn:aws:kafka:/);
      expect(event.bootstrapServers).toBe(broker.bootstrapServers.join(','));
      const keys = Object.keys(event.records);
      expect(keys).toHaveLength(1);
      const records = event.records[keys[0]!]!;
      expect(records.length).toBeGreaterThan(0);
      expect(records.length).toBeLessThanOrEqual(40);
      for (const r of records) {
        expect(`${r.topic}-${r.partition}`).toBe(keys[0]);
        const prev = lastOffset.get(keys[0]!) ?? -1;
        expect(r.offset).toBeGreaterThan(prev);
        lastOffset.set(keys[0]!, r.offset);
      }
    }
    expect(rec.events.some((e) => Object.values(e.records)[0]!.length === 40)).toBe(true);

    const byValue = new Map(rec.records().map((r) => [Buffer.from(r.value!, 'base64').toString(), r]));
    for (const [i, m] of sent.entries()) {
      const r = byValue.get(m.value) as KafkaEventRecord;
      expect(r, `record ${i}`).toBeDefined();
      expect(Object.keys(r)).toEqual(
        m.key === null
          ? ['topic', 'partition', 'offset', 'timestamp', 'timestampType', 'value', 'headers']
          : ['topic', 'partition', 'offset', 'timestamp', 'timestampType', 'key', 'value', 'headers'],
      );
      expect(r.partition).toBe(m.partition);
      expect(typeof r.offset).toBe('number');
      expect(typeof r.timestamp).toBe('number');
      expect(Math.abs(r.timestamp - Date.now())).toBeLessThan(120_000);
      expect(r.timestampType).toBe('CREATE_TIME');
      if (m.key !== null) expect(r.key).toBe(b64(m.key));
      expect(r.value).toBe(b64(m.value));
      expect(r.headers).toEqual([
        { trace: [...Buffer.from(`t${i}`)] },
        { dup: [...Buffer.from(`a${i}`)] },
        { dup: [...Buffer.from(`b${i}`)] },
      ]);
    }
    expect(esm.stats()).toMatchObject({ recordsSucceeded: 300, failedInvocations: 0, committed: { 0: 100, 1: 100, 2: 100 } });
  });

  it('waits up to maxBatchingWindow to fill a batch, and sends SelfManagedKafka events when configured', async () => {
    await broker.createTopic('window', 1);
    const rec = recorder();
    // Wide enough that five produces 100 ms apart fall inside it on a loaded machine (1.5 s did not).
    const esm = mapping(
      { topic: 'window', consumerGroupId: 'window-g', batchSize: 100, maxBatchingWindow: 4, eventSource: 'SelfManagedKafka' },
      rec.handler,
    );
    await esm.start();
    for (let i = 0; i < 5; i++) {
      await produce('window', [{ value: `w${i}` }]);
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor('5 records', () => rec.records().length >= 5);
    await esm.stop();
    expect(rec.events).toHaveLength(1);
    expect(rec.records().map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(rec.events[0]!.eventSource).toBe('SelfManagedKafka');
    expect(rec.events[0]).not.toHaveProperty('eventSourceArn');
  });

  it('redelivers the whole batch after the handler throws', async () => {
    await broker.createTopic('retry', 1);
    await produce('retry', Array.from({ length: 20 }, (_, i) => ({ value: `r${i}` })));
    const rec = recorder((_, call) => {
      if (call === 1) throw new Error('transient');
    });
    const esm = mapping({ topic: 'retry', consumerGroupId: 'retry-g', batchSize: 20 }, rec.handler);
    await esm.start();
    await waitFor('a retried success', () => esm.stats().recordsSucceeded === 20);
    await esm.stop();
    expect(rec.events).toHaveLength(2);
    const offsets = rec.events.map((e) => Object.values(e.records)[0]!.map((r) => r.offset));
    expect(offsets[1]).toEqual(offsets[0]);
    expect(offsets[0]).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(esm.stats()).toMatchObject({ retries: 1, failedInvocations: 1, committed: { 0: 20 } });
  });

  it('delivers a processed batch again, whole or re-cut, when fault injection loses its commit', async () => {
    await broker.createTopic('lost-commit', 1);
    await produce('lost-commit', Array.from({ length: 40 }, (_, i) => ({ value: `c${i}` })));
    const rec = recorder();
    const plan = [{ commit: false as const }, { commit: false as const, redeliverAs: 7 }];
    const esm = createEventSourceMapping({
      config: { bootstrapServers: broker.bootstrapServers, topic: 'lost-commit', consumerGroupId: 'lost-commit-g', batchSize: 20, local: FAST_LOCAL },
      handler: rec.handler,
      logger: quiet,
      faults: { afterSuccess: () => plan.shift() ?? { commit: true } },
    });
    running.push(esm);
    await esm.start();
    await waitFor('all committed', () => esm.stats().committed[0] === 40);
    await esm.stop();
    const offsets = rec.events.map((e) => Object.values(e.records)[0]!.map((r) => r.offset));
    const first20 = Array.from({ length: 20 }, (_, i) => i);
    expect(offsets.slice(0, 3)).toEqual([first20, first20, first20.slice(0, 7)]);
    expect(new Set(offsets.flat())).toEqual(new Set(Array.from({ length: 40 }, (_, i) => i)));
  });

  it('commits nothing in flight when killed, so a restarted mapping delivers those records again', async () => {
    await broker.createTopic('killed', 1);
    await produce('killed', Array.from({ length: 10 }, (_, i) => ({ value: `k${i}` })));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const rec = recorder(() => held);
    const config = { topic: 'killed', consumerGroupId: 'killed-g', batchSize: 10 };
    const first = mapping(config, rec.handler);
    await first.start();
    await waitFor('an invocation in flight', () => rec.events.length === 1);
    const killing = first.kill();
    release();
    await killing;
    expect(first.stats().committed[0]).toBeUndefined();
    const again = recorder();
    const second = mapping(config, again.handler);
    await second.start();
    await waitFor('redelivery', () => second.stats().committed[0] === 10);
    await second.stop();
    expect(again.records().map((r) => r.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('resumes from a ReportBatchItemFailures offset without redelivering the records before it', async () => {
    await broker.createTopic('partial', 1);
    await produce('partial', Array.from({ length: 30 }, (_, i) => ({ value: `p${i}` })));
    const rec = recorder((event, call): BatchItemFailuresResponse | undefined => {
      if (call === 1) return { batchItemFailures: [{ itemIdentifier: { partition: 'partial-0', offset: 10 } }] };
      return undefined;
    });
    const esm = mapping({ topic: 'partial', consumerGroupId: 'partial-g', batchSize: 30, reportBatchItemFailures: true }, rec.handler);
    await esm.start();
    await waitFor('all committed', () => esm.stats().committed[0] === 30);
    await esm.stop();
    const offsets = rec.events.map((e) => Object.values(e.records)[0]!.map((r) => r.offset));
    expect(offsets[0]).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(offsets[1]![0]).toBe(10);
    const later = offsets.slice(1).flat();
    expect(later.filter((o) => o < 10)).toEqual([]);
    expect(new Set(later)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => i + 10)));
  });

  it('sends records to the onFailure topic once retries are exhausted, isolating a poison record with bisection', async () => {
    await broker.createTopic('fail-all', 1);
    await broker.createTopic('poison', 1);
    await broker.createTopic('dlq', 1);
    await produce('fail-all', Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `f${i}`, headers: { orig: `o${i}` } })));
    await produce('poison', Array.from({ length: 10 }, (_, i) => ({ value: `x${i}` })));

    const failAll = recorder(() => {
      throw new Error('always broken');
    });
    const poison = recorder((event) => {
      if (Object.values(event.records)[0]!.some((r) => r.offset === 6)) throw new Error('poison at 6');
    });
    const dlq = recorder();
    const a = mapping({ topic: 'fail-all', consumerGroupId: 'fail-all-g', batchSize: 10, retryAttempts: 2, onFailure: 'dlq' }, failAll.handler);
    const b = mapping(
      { topic: 'poison', consumerGroupId: 'poison-g', batchSize: 10, retryAttempts: 1, bisectBatchOnError: true, onFailure: 'dlq' },
      poison.handler,
    );
    const reader = mapping({ topic: 'dlq', consumerGroupId: 'dlq-reader' }, dlq.handler);
    await Promise.all([a.start(), b.start(), reader.start()]);
    await waitFor('6 records on the onFailure topic', () => dlq.records().length >= 6);
    await waitFor('both mappings past their failures', () => a.stats().committed[0] === 5 && b.stats().committed[0] === 10);
    await Promise.all([a.stop(), b.stop(), reader.stop()]);

    expect(failAll.events).toHaveLength(3); // first attempt + retryAttempts
    expect(a.stats()).toMatchObject({ recordsSentToOnFailure: 5, retries: 2, recordsSucceeded: 0 });
    expect(b.stats()).toMatchObject({ recordsSentToOnFailure: 1, recordsSucceeded: 9 });
    // Bisection narrowed the failure down to offset 6, which alone then used up its retry.
    const alone6 = poison.events.filter((e) => {
      const records = Object.values(e.records)[0]!;
      return records.length === 1 && records[0]!.offset === 6;
    });
    expect(alone6).toHaveLength(2);

    const header = (r: KafkaEventRecord, name: string) => {
      const h = r.headers!.find((x) => name in x);
      return h ? Buffer.from(h[name]!).toString() : undefined;
    };
    const dead = dlq.records();
    expect(dead).toHaveLength(6);
    const fromFailAll = dead.filter((r) => header(r, FAILURE_HEADERS.sourceTopic) === 'fail-all');
    expect(fromFailAll.map((r) => Number(header(r, FAILURE_HEADERS.sourceOffset)))).toEqual([0, 1, 2, 3, 4]);
    for (const [i, r] of fromFailAll.entries()) {
      expect(r.key).toBe(b64(`k${i}`));
      expect(r.value).toBe(b64(`f${i}`));
      expect(header(r, 'orig')).toBe(`o${i}`);
      expect(header(r, FAILURE_HEADERS.sourcePartition)).toBe('0');
      expect(header(r, FAILURE_HEADERS.reason)).toBe('function-error');
      expect(header(r, FAILURE_HEADERS.attempts)).toBe('3');
      expect(header(r, FAILURE_HEADERS.error)).toContain('always broken');
    }
    const fromPoison = dead.filter((r) => header(r, FAILURE_HEADERS.sourceTopic) === 'poison');
    expect(fromPoison.map((r) => header(r, FAILURE_HEADERS.sourceOffset))).toEqual(['6']);
    expect(fromPoison[0]!.value).toBe(b64('x6'));
  });

  it('with infinite retries and an onFailure destination, stops after 10 retries as AWS does', async () => {
    await broker.createTopic('capped', 1);
    await broker.createTopic('capped-dlq', 1);
    await produce('capped', [{ value: 'c0' }, { value: 'c1' }]);
    const failing = recorder(() => {
      throw new Error('always broken');
    });
    const esm = mapping({ topic: 'capped', consumerGroupId: 'capped-g', retryAttempts: -1, onFailure: 'capped-dlq', local: { retryBackoffBaseMs: 0, retryBackoffMaxMs: 0 } }, failing.handler);
    await esm.start();
    await waitFor('the batch given up on', () => esm.stats().recordsSentToOnFailure === 2, 30_000);
    await esm.stop();
    expect(failing.events).toHaveLength(1 + RETRY_CAP_WITH_DESTINATION);
  });

  it('skips (and commits past) exhausted records when no onFailure destination is configured', async () => {
    await broker.createTopic('skip', 1);
    await produce('skip', Array.from({ length: 3 }, (_, i) => ({ value: `s${i}` })));
    const rec = recorder(() => {
      throw new Error('nope');
    });
    const esm = mapping({ topic: 'skip', consumerGroupId: 'skip-g', retryAttempts: 0 }, rec.handler);
    await esm.start();
    await waitFor('skip committed', () => esm.stats().committed[0] === 3);
    await esm.stop();
    expect(rec.events).toHaveLength(1);
    expect(esm.stats()).toMatchObject({ recordsDropped: 3, recordsSentToOnFailure: 0 });
  });

  it('gives up on records older than maxRecordAge after a failure', async () => {
    await broker.createTopic('aged', 1);
    const old = Date.now() - 120_000;
    await produce('aged', [{ value: 'old', timestamp: String(old) }]);
    const rec = recorder(() => {
      throw new Error('down');
    });
    const esm = mapping({ topic: 'aged', consumerGroupId: 'aged-g', maxRecordAge: 60 }, rec.handler);
    const failures: string[] = [];
    esm.on('failure', (f) => failures.push(f.reason));
    await esm.start();
    await waitFor('aged committed', () => esm.stats().committed[0] === 1);
    await esm.stop();
    expect(rec.events).toHaveLength(1);
    expect(rec.records()[0]!.timestamp).toBe(old);
    expect(failures).toEqual(['record-age-exceeded']);
  });

  it('stops promptly while retrying forever, leaving the batch uncommitted', async () => {
    await broker.createTopic('forever', 1);
    await produce('forever', [{ value: 'a' }, { value: 'b' }]);
    const rec = recorder(() => {
      throw new Error('still down');
    });
    const esm = mapping({ topic: 'forever', consumerGroupId: 'forever-g', local: { retryBackoffBaseMs: 50, retryBackoffMaxMs: 60_000 } }, rec.handler);
    await esm.start();
    await waitFor('a few retries', () => esm.stats().retries >= 3);
    const t0 = Date.now();
    await esm.stop();
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(esm.stats().committed[0]).toBeUndefined();
    expect((await esm.lag())[0]).toMatchObject({ committed: undefined, lag: 2 });
  });

  it('keeps every invocation under the payload cap', async () => {
    await broker.createTopic('big', 1);
    await produce('big', Array.from({ length: 40 }, (_, i) => ({ value: `${i}`.padEnd(900, '.') })));
    const rec = recorder();
    const esm = mapping({ topic: 'big', consumerGroupId: 'big-g', batchSize: 100, local: { maxPayloadBytes: 8_192 } }, rec.handler);
    await esm.start();
    await waitFor('40 records', () => rec.records().length >= 40);
    await esm.stop();
    for (const e of rec.events) expect(Buffer.byteLength(JSON.stringify(e))).toBeLessThanOrEqual(8_192);
    expect(rec.events.length).toBeGreaterThanOrEqual(5);
    expect(rec.records().map((r) => r.offset)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('with LATEST, skips what was there before the mapping started', async () => {
    await broker.createTopic('latest', 1);
    await produce('latest', [{ value: 'before-1' }, { value: 'before-2' }]);
    const rec = recorder();
    const esm = mapping({ topic: 'latest', consumerGroupId: 'latest-g', startingPosition: 'LATEST' }, rec.handler);
    await esm.start();
    await produce('latest', [{ value: 'after' }]);
    await waitFor('the new record', () => rec.records().length >= 1);
    await esm.stop();
    expect(rec.records().map((r) => Buffer.from(r.value!, 'base64').toString())).toEqual(['after']);
  });

  it('resumes from the committed offsets after a stop mid-stream, losing nothing', async () => {
    await broker.createTopic('restart', 2);
    const total = 2_000;
    await produce('restart', Array.from({ length: total }, (_, i) => ({ partition: i % 2, value: `m${i}` })));
    const delivered: KafkaEventRecord[] = [];
    const slow: KafkaLambdaHandler = async (event) => {
      await new Promise((r) => setTimeout(r, 5));
      delivered.push(...Object.values(event.records).flat());
    };
    const config = { topic: 'restart', consumerGroupId: 'restart-g', batchSize: 50 };
    const first = mapping(config, slow);
    await first.start();
    await waitFor('some progress', () => delivered.length >= 300);
    await first.stop();
    const committedAtStop = first.stats().committed;
    const deliveredBefore = delivered.length;
    expect(deliveredBefore).toBeLessThan(total);
    const lag = await first.lag();
    expect(lag.map((l) => l.committed)).toEqual([committedAtStop[0], committedAtStop[1]]);

    const second = mapping(config, slow);
    const startedAt = delivered.length;
    await second.start();
    await waitFor('all offsets', () => new Set(delivered.map((r) => `${r.partition}:${r.offset}`)).size === total, 30_000);
    await second.stop();

    // The second run starts exactly at the first run's commits: nothing lost, nothing committed redelivered.
    for (const p of [0, 1]) {
      const resumed = delivered.slice(startedAt).filter((r) => r.partition === p);
      expect(resumed[0]?.offset ?? committedAtStop[p]).toBe(committedAtStop[p]);
    }
    const keys = new Set(delivered.map((r) => `${r.partition}:${r.offset}`));
    for (let o = 0; o < total / 2; o++) {
      expect(keys.has(`0:${o}`)).toBe(true);
      expect(keys.has(`1:${o}`)).toBe(true);
    }
    expect((await second.lag()).every((l) => l.lag === 0)).toBe(true);
  });
});
