import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockKafka, type MockKafka } from '../../local/broker/mock-kafka.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { registrationSchema, telemetrySchema, userEventSchema } from '../../lib/schemas/events.ts';
import { GENERATOR_DEFAULTS, generate, scenarioKinds, type GeneratedRecord, type GenerateResult, type InjectedScenario } from '../../local/generator/generate.ts';
import { readEventLog, toEventLog, writeEventLog } from '../../local/generator/jsonl.ts';
import { produceRecords } from '../../local/generator/produce.ts';
import { paceSchedule, realTimeGeneratorOptions } from '../../local/generator/pace.ts';

// Whether scenarios raise their rules and the background none is test/unit/generator.test.ts's
// job; this file checks the stream's shape, the event log and producing.
const MIN = 60_000;
const HOUR = 60 * MIN;
const winStart = (t: number, size: number) => t - (((t % size) + size) % size);
// A late record must miss every window of its topic: the longest of the pipelines reading it.
const longestWindow = (topic: string) => Math.max(...builtinPipelines.filter((p) => p.source.topic === topic).map((p) => p.window.sizeMs));

const schemas = { user_events: userEventSchema, user_registrations: registrationSchema, iot_telemetry: telemetrySchema } as const;

type Parsed =
  | { topic: 'user_events'; e: ReturnType<typeof userEventSchema.parse> }
  | { topic: 'user_registrations'; e: ReturnType<typeof registrationSchema.parse> }
  | { topic: 'iot_telemetry'; e: ReturnType<typeof telemetrySchema.parse> };

/** Decodes a record like the ingest path does: JSON, then the topic's schema; undefined when it is rejected. */
function decode(r: GeneratedRecord): Parsed | undefined {
  let json: unknown;
  try {
    json = JSON.parse(r.value);
  } catch {
    return undefined;
  }
  const res = schemas[r.topic].safeParse(json);
  return res.success ? ({ topic: r.topic, e: res.data } as Parsed) : undefined;
}

describe('generate', () => {
  let big: GenerateResult;
  beforeAll(() => {
    big = generate({ events: 50_000, seed: 20261123 });
  });

  it('is deterministic in its seed', () => {
    const a = generate({ events: 5000, seed: 7 });
    const b = generate({ events: 5000, seed: 7 });
    const c = generate({ events: 5000, seed: 8 });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a));
    expect(c.records.map((r) => r.value)).not.toEqual(a.records.map((r) => r.value));
  });

  it('returns exactly the requested number of records over a few hours of event time', () => {
    expect(big.records).toHaveLength(50_000);
    const times = big.records.flatMap((r) => (r.eventTime === undefined ? [] : [r.eventTime]));
    const span = Math.max(...times) - Math.min(...times);
    expect(Math.min(...times)).toBe(GENERATOR_DEFAULTS.start);
    expect(span).toBeGreaterThan(2 * HOUR);
    expect(span).toBeLessThan(3 * HOUR);
    const share = (topic: string) => big.records.filter((r) => r.topic === topic).length / big.records.length;
    expect(share('user_events')).toBeCloseTo(0.5, 1);
    expect(share('user_registrations')).toBeCloseTo(0.2, 1);
    expect(share('iot_telemetry')).toBeCloseTo(0.3, 1);
  });

  it('mixes both field spellings, id types, time formats and null keys', () => {
    const values = big.records.filter((r) => !r.malformed).map((r) => r.value);
    for (const needle of ['"action":', '"event_type":', '"timestamp":"', '"event_time":"', '"timestamp":1', '+08:00"', '"user_id":"', '"user_id":1']) {
      expect(values.some((v) => v.includes(needle)), needle).toBe(true);
    }
    expect(big.records.some((r) => r.key === null && !r.malformed)).toBe(true);
  });

  it('scales scenarios with the stream: one of each kind from 2,000 records, about one per 10,000', () => {
    expect(generate({ events: 1999, seed: 1 }).scenarios).toHaveLength(0);
    const kinds = (s: InjectedScenario[]) => s.map((x) => x.kind).sort();
    // 2,000 records span under 7 minutes of event time: too short for a payment more than 10
    // minutes after a login, so that near miss is left out.
    expect(kinds(generate({ events: 2000, seed: 1 }).scenarios)).toEqual(scenarioKinds().filter((k) => k !== 'ato_late_payment').sort());
    expect(big.scenarios).toHaveLength(5 * scenarioKinds().length);
  });

  it('puts every scenario record, well formed and on time, inside its window', () => {
    // Sequence scenarios have earlier activity before their chain: test/unit/generator-sequences.test.ts.
    for (const [index, s] of big.scenarios.entries()) {
      if (s.pipeline === 'sequence') continue;
      const own = big.records.filter((r) => r.scenario === index);
      expect(own, s.detail).toHaveLength(s.events);
      expect(s.windowEnd - s.windowStart).toBe(builtinPipelines.find((p) => p.name === s.pipeline)!.window.sizeMs);
      for (const r of own) {
        expect(r.malformed).toBeUndefined();
        expect(r.late).toBeUndefined();
        expect(r.key).toBe(s.key);
        const p = decode(r);
        expect(p, r.value).toBeDefined();
        expect(p!.e.eventTime).toBe(r.eventTime);
        expect(p!.e.eventTime).toBeGreaterThanOrEqual(s.windowStart);
        expect(p!.e.eventTime).toBeLessThan(s.windowEnd);
      }
    }
  });

  it('marks malformed records, which the real schemas reject, at the configured share', () => {
    const check = (result: GenerateResult, rate: number) => {
      const bad = result.records.filter((r) => r.malformed !== undefined);
      expect(bad.length).toBeGreaterThan(result.records.length * rate * 0.9);
      expect(bad.length).toBeLessThan(result.records.length * rate * 1.1);
      for (const r of bad) {
        expect(decode(r), `${r.malformed}: ${r.value.slice(0, 200)}`).toBeUndefined();
        expect(r.eventTime).toBeUndefined();
      }
      for (const r of result.records) if (r.malformed === undefined) expect(decode(r)?.e.eventTime, r.value).toBe(r.eventTime);
      return bad;
    };
    const bad = check(big, 0.005);
    const why = bad.map((r) => r.malformed!);
    for (const kind of ['invalid JSON', 'wrong type', 'missing timestamp', 'unparseable timestamp', 'epoch seconds', 'huge value']) {
      expect(why.some((w) => w.includes(kind)), kind).toBe(true);
    }
    expect(bad.some((r) => r.malformed!.startsWith('huge value') && r.value.length > 100_000)).toBe(true);

    const noHuge = generate({ events: 20_000, seed: 11, malformedRate: 0.03, hugeValues: false });
    check(noHuge, 0.03);
    expect(noHuge.records.some((r) => r.malformed?.startsWith('huge'))).toBe(false);
    expect(Math.max(...noHuge.records.map((r) => r.value.length))).toBeLessThan(1000);
  });

  it('makes late records lag behind closed windows, and keeps other disorder within the jitter', () => {
    const jitter = GENERATOR_DEFAULTS.maxJitterMs;
    const delay = GENERATOR_DEFAULTS.watermarkDelayMs;
    let maxSeen = -Infinity;
    let late = 0;
    for (const r of big.records) {
      if (r.eventTime === undefined) continue;
      if (r.late) {
        late++;
        expect(decode(r)).toBeDefined();
        // Behind the stream by at least 30 minutes, and its window ended before the watermark.
        expect(maxSeen - r.eventTime).toBeGreaterThanOrEqual(30 * MIN);
        expect(winStart(r.eventTime, longestWindow(r.topic)) + longestWindow(r.topic) + delay).toBeLessThanOrEqual(maxSeen);
      } else {
        // Whole-second time formats round down, hence the extra second.
        expect(r.eventTime).toBeGreaterThanOrEqual(maxSeen - jitter - 1000);
        maxSeen = Math.max(maxSeen, r.eventTime);
      }
    }
    expect(late).toBeGreaterThan(50_000 * 0.002 * 0.9);
    expect(late).toBeLessThanOrEqual(50_000 * 0.002);
    expect(big.records.some((r) => r.late && r.topic === 'user_events')).toBe(true);

    const none = generate({ events: 5000, seed: 2, lateRate: 0 });
    expect(none.records.some((r) => r.late)).toBe(false);
  });

});

describe('event log', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'generator-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips records with their coordinates', async () => {
    const { records } = generate({ events: 3000, seed: 4, malformedRate: 0.05 });
    const produced = records.map((r, i) => ({ topic: r.topic, partition: i % 3, offset: Math.floor(i / 3) }));
    const log = toEventLog(records, produced);
    const path = join(dir, 'events.jsonl');
    await writeEventLog(path, log);
    expect(await readEventLog(path)).toEqual(log);
  });
});

describe('producing to Kafka', () => {
  const partitions = { user_events: 4, user_registrations: 3, iot_telemetry: 2 } as const;
  let broker: MockKafka;
  beforeAll(async () => {
    broker = await startMockKafka({ brokers: 2, topics: Object.entries(partitions).map(([name, n]) => ({ name, partitions: n })) });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('confirms every record with per-partition offsets contiguous from 0, as the broker stored them', async () => {
    const { records } = generate({ events: 2000, seed: 12 });
    const progress: number[] = [];
    const produced = await produceRecords(broker.bootstrapServers, records, { batchSize: 300, onProgress: (n) => progress.push(n) });
    expect(progress.at(-1)).toBe(2000);
    expect(produced).toHaveLength(2000);

    const next = new Map<string, number>();
    const partitionOfKey = new Map<string, number>();
    for (const [i, p] of produced.entries()) {
      const r = records[i]!;
      expect(p.topic).toBe(r.topic);
      expect(p.partition).toBeGreaterThanOrEqual(0);
      expect(p.partition).toBeLessThan(partitions[r.topic]);
      const tp = `${p.topic}-${p.partition}`;
      expect(p.offset, tp).toBe(next.get(tp) ?? 0);
      next.set(tp, p.offset + 1);
      if (r.partition !== undefined) {
        // A record that names its partition (a sequence scenario's user over two partitions) goes there.
        expect(p.partition, `${r.topic}|${r.key}`).toBe(r.partition % partitions[r.topic]);
      } else if (r.key !== null) {
        const k = `${r.topic}|${r.key}`;
        expect(p.partition, k).toBe(partitionOfKey.get(k) ?? p.partition);
        partitionOfKey.set(k, p.partition);
      }
    }
    const named = records.flatMap((r, i) => (r.partition === undefined ? [] : [`${r.key}@${produced[i]!.partition}`]));
    expect(new Set(named.map((n) => n.split('@')[1])).size).toBe(2);
    // Every partition got records, null-key ones included.
    expect(next.size).toBe(4 + 3 + 2);

    // Read everything back: the reported coordinates must hold exactly the record produced there.
    const kafka = new Kafka({ clientId: 'generator-test', brokers: broker.bootstrapServers, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'generator-test', sessionTimeout: 6000, heartbeatInterval: 500 });
    const stored = new Map<string, { key: string | null; value: string }>();
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: Object.keys(partitions), fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`read back ${stored.size} of 2000 records`)), 30_000);
        void consumer.run({
          eachMessage: async ({ topic, partition, message }) => {
            stored.set(`${topic}-${partition}@${message.offset}`, { key: message.key?.toString() ?? null, value: message.value?.toString() ?? '' });
            if (stored.size === 2000) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    for (const [i, p] of produced.entries()) {
      expect(stored.get(`${p.topic}-${p.partition}@${p.offset}`)).toEqual({ key: records[i]!.key, value: records[i]!.value });
    }
  });

  it('paced (real time): never produces a record before it is due, and keeps production order in every partition', async () => {
    const start = Date.now() + 200;
    const { records } = generate(realTimeGeneratorOptions({ rate: 200, seconds: 2, seed: 4, start }));
    const dueAt = paceSchedule(records, start, start);
    const produced = await produceRecords(broker.bootstrapServers, records, { dueAt });
    const last = new Map<string, number>();
    for (const [i, p] of produced.entries()) {
      expect(p.producedAt, `record ${i}`).toBeGreaterThanOrEqual(dueAt[i]!);
      const tp = `${p.topic}-${p.partition}`;
      expect(p.offset).toBeGreaterThan(last.get(tp) ?? -1);
      last.set(tp, p.offset);
    }
    // Paced, not sent in one go: the records went out in many requests, spread over the schedule.
    expect(new Set(produced.map((p) => p.producedAt)).size).toBeGreaterThan(10);
  });
});
