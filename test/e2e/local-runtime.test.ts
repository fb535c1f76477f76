/**
 * End to end on one machine: generator -> Kafka-protocol broker -> event source mapping emulator ->
 * the ingest function -> DynamoDB Local; stored counters equal a direct computation over what was
 * produced, also when the emulator is stopped mid-stream and restarted.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generate, type GeneratedRecord } from '../../local/generator/generate.ts';
import { produceRecords } from '../../local/generator/produce.ts';
import { startRuntime, type LocalRuntime } from '../../local/runtime/runtime.ts';
import { directComputation } from '../support/direct.ts';
import { normalise, storedFeatures } from '../support/stored.ts';

let runtime: LocalRuntime;
const produced: { record: GeneratedRecord; partition: number; offset: number }[] = [];

beforeAll(async () => {
  // The closer stays off: this test is about ingest. Late events are still turned away when read.
  runtime = await startRuntime({ dynamoEndpoint: inject('dynamoEndpoint'), tablePrefix: `e2e${randomUUID().slice(0, 6)}`, schedule: false, batchSize: 200 });
}, 90_000);
afterAll(() => runtime?.stop());

async function caughtUp(timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await runtime.lag()) > 0) {
    if (Date.now() > deadline) throw new Error(`still lagging after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function expectStateMatchesProduced(): Promise<void> {
  const valid = produced
    .filter(({ record }) => !record.malformed)
    // Lateness follows each partition's offset order.
    .sort((a, b) => a.offset - b.offset)
    .map(({ record, partition }) => ({ topic: record.topic, partition, value: JSON.parse(record.value) as Record<string, unknown> }));
  const expected = directComputation(valid, { delayMs: 600_000 });
  const stored = await storedFeatures(runtime.services.client, runtime.services.tables.windows);
  expect(stored.size).toBe(expected.size);
  expect(normalise(stored)).toEqual(normalise(expected));
}

describe('local runtime, end to end', () => {
  it('ingests generated traffic through the broker and the emulator into exact windowed state', async () => {
    const { records } = generate({ events: 4000, seed: 11 });
    expect(records.some((r) => r.malformed)).toBe(true);
    const sent = await produceRecords(runtime.services.brokers, records);
    produced.push(...records.map((record, i) => ({ record, partition: sent[i]!.partition, offset: sent[i]!.offset })));
    await caughtUp();
    await expectStateMatchesProduced();
  });

  it('resumes from committed offsets after the emulator is stopped mid-stream, still exactly once', async () => {
    const { records } = generate({ events: 6000, seed: 12, start: Date.UTC(2026, 10, 24, 9) });
    const producing = produceRecords(runtime.services.brokers, records, { batchSize: 200 });
    // Stop while records are still arriving and being applied.
    await new Promise((r) => setTimeout(r, 400));
    await runtime.stopMappings();
    const sent = await producing;
    produced.push(...records.map((record, i) => ({ record, partition: sent[i]!.partition, offset: sent[i]!.offset })));
    expect(await runtime.lag()).toBeGreaterThan(0);
    await runtime.startMappings();
    await caughtUp();
    await expectStateMatchesProduced();
  });
});
