/**
 * Fan-in: one key fed by more partitions in one batch than one DynamoDB write can guard (Kafka
 * topics of hundreds of partitions are ordinary). Against DynamoDB Local and the real ingest path:
 * the marks are read in chunks, each aggregate is written in groups of partitions, and the stored
 * windows equal a direct computation however the batch is redelivered, re-cut or crashed.
 *
 * The local event source mapping emulator invokes one partition per batch, so fan-in within one
 * batch is proven here, not by `npm run verify`.
 */
import { ScanCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import type { IngestDeps } from '../../lib/ingest/ingest-batch.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { DynamoCloserStore } from '../../lib/store/dynamodb/closer-store.ts';
import { buildWindowUpdate, MAX_MARKS_PER_WRITE } from '../../lib/store/dynamodb/window-store.ts';
import { RejectedWriteError } from '../../lib/store/errors.ts';
import type { WindowStore } from '../../lib/store/ports.ts';
import { directComputation } from '../support/direct.ts';
import { freshIngest, localClient } from '../support/dynamodb.ts';
import { recut, rng, T0 } from '../support/records.ts';
import { normalise, storedFeatures } from '../support/stored.ts';

const DELAY_MS = 3_600_000;


let client: DynamoDBClient;
beforeAll(() => {
  client = localClient();
});
afterAll(() => client.destroy());

const setup = () => freshIngest(client, DELAY_MS);

/**
 * `partitions` partitions of user_events, each carrying a few events of user 7 (one payments
 * window, one risk window) and of a user of its own, in offset order.
 */
function fanIn(partitions: number, seed: number): RecordInput[] {
  const r = rng(seed);
  const out: RecordInput[] = [];
  for (let p = 0; p < partitions; p++) {
    const n = 2 + Math.floor(r() * 3);
    for (let offset = 0; offset < n; offset++) {
      const user = offset === n - 1 ? 1000 + p : 7;
      const t = T0 + Math.floor(r() * 4 * 60_000);
      const value = {
        user_id: user,
        action: r() < 0.6 ? 'payment' : 'login',
        amount: Math.round(r() * 10_000) / 100,
        device_id: `dev-${p % 9}`,
        location_city: ['Berlin', 'Paris', 'Lagos'][p % 3],
        timestamp: t,
      };
      out.push({ topic: 'user_events', partition: p, offset, value, key: `k${p}`, timestamp: t });
    }
  }
  return out;
}

async function expectExact(records: RecordInput[], tables: { windows: string; sideOutput: string }) {
  const expected = directComputation(records.map((r) => ({ topic: r.topic, partition: r.partition, value: r.value as Record<string, unknown> })), { delayMs: DELAY_MS });
  const stored = await storedFeatures(client, tables.windows);
  expect(normalise(stored)).toEqual(normalise(expected));
  // Nothing set aside: every event counted.
  expect((await client.send(new ScanCommand({ TableName: tables.sideOutput, Select: 'COUNT' }))).Count).toBe(0);
}

const marksOn = async (windowsTable: string, pk: string) => {
  const items = (await client.send(new ScanCommand({ TableName: windowsTable }))).Items ?? [];
  const item = items.find((i) => i.pk!.S === pk)!;
  return Object.keys(item).filter((k) => k.startsWith('o_')).length;
};

describe('fan-in: one key fed by many partitions in one batch', () => {
  it('is refused by DynamoDB Local as one write of 75 marks, and accepted in writes of the mark limit', async () => {
    const { tables } = await setup();
    const write = (marks: number) => ({
      pipeline: 'payments',
      key: 'probe',
      windowStart: T0,
      windowEnd: T0 + 300_000,
      slots: [{ name: 'count', op: 'add' as const, value: 1 }],
      marks: Array.from({ length: marks }, (_, i) => ({ partitionId: `user_events-${i}`, below: 0, setTo: 0 })),
    });
    const send = (marks: number) => client.send(new UpdateItemCommand(buildWindowUpdate(write(marks), { tableName: tables.windows, retentionMs: 86_400_000 })));
    await expect(send(75)).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(send(MAX_MARKS_PER_WRITE)).resolves.toBeDefined();
  });

  it('counts a key fed by 150 partitions exactly, delivered twice and then re-cut', async () => {
    const { tables, handler, reports } = await setup();
    const records = fanIn(150, 1);
    expect(await handler(encodeKafkaEvent(records))).toEqual({ batchItemFailures: [] });
    expect(reports[0]).toMatchObject({ quarantined: 0, duplicates: 0 });
    // One window item of user 7 holds a mark for each of the 150 partitions.
    expect(await marksOn(tables.windows, 'risk#7')).toBe(150);
    await expectExact(records, tables);

    expect(await handler(encodeKafkaEvent(records))).toEqual({ batchItemFailures: [] });
    expect(reports[1]!.windowWrites).toBe(0);
    for (const batch of recut(records, 3, 2)) expect(await handler(encodeKafkaEvent(batch))).toEqual({ batchItemFailures: [] });
    await expectExact(records, tables);
  });

  it('applies a partly delivered fan-in once when a wider batch redelivers it', async () => {
    const { tables, handler } = await setup();
    const records = fanIn(150, 2);
    // First, small batches over some partitions, up to the middle of each...
    const firstHalf = records.filter((r) => r.partition % 3 !== 0 && r.offset < 2);
    for (const batch of recut(firstHalf, 5, 1)) await handler(encodeKafkaEvent(batch));
    // ...then everything in one batch: each group of partitions sees a partial overlap.
    expect(await handler(encodeKafkaEvent(records))).toEqual({ batchItemFailures: [] });
    await expectExact(records, tables);
  });

  it('completes a fan-in batch that crashed between the writes of one aggregate, without double counting', async () => {
    for (const crashAfter of [2, 3, 5]) {
      const { tables, deps } = await setup();
      let writes = 0;
      const crashing: WindowStore = {
        maxMarksPerWrite: deps.windows.maxMarksPerWrite,
        write: (w) => {
          if (++writes === crashAfter) throw new Error('simulated crash between writes');
          return deps.windows.write(w);
        },
      };
      const records = fanIn(150, 10 + crashAfter);
      // Sequential writes, so the crash falls between the groups of one aggregate.
      const options = { ...deps.options, writeConcurrency: 1 };
      await expect(createIngestHandler({ ...deps, windows: crashing, options } satisfies IngestDeps)(encodeKafkaEvent(records))).rejects.toThrow('simulated crash');
      expect(writes).toBe(crashAfter);
      const handler = createIngestHandler(deps);
      // The mapping retries, cut differently: the first half of each partition, then all of it.
      await handler(encodeKafkaEvent(records.filter((r) => r.offset < 1)));
      expect(await handler(encodeKafkaEvent(records))).toEqual({ batchItemFailures: [] });
      await expectExact(records, tables);
    }
  });

  it('turns away as late every group of a wide aggregate whose window closed in between', async () => {
    const { tables, handler, reports } = await setup();
    const records = fanIn(150, 6);
    const first = records.filter((r) => r.offset === 0);
    expect(await handler(encodeKafkaEvent(first))).toEqual({ batchItemFailures: [] });
    // The closer closes user 7's risk window before the rest of the partitions' records arrive.
    const closer = new DynamoCloserStore(client, { windowsTable: tables.windows, stateTable: tables.state });
    const riskWindow = storedFeatures(client, tables.windows).then((m) => [...m.keys()].find((k) => k.startsWith('risk|7|'))!);
    const windowStart = Number((await riskWindow).split('|')[2]);
    await closer.close({ pipeline: 'risk', key: '7', windowStart, windowEnd: windowStart + 3_600_000 }, Date.now());

    expect(await handler(encodeKafkaEvent(records))).toEqual({ batchItemFailures: [] });
    const lateForRisk = records.filter((r) => r.offset > 0 && (r.value as { user_id: number }).user_id === 7);
    expect(lateForRisk.length).toBeGreaterThan(100);
    expect(reports[1]!.late).toBe(lateForRisk.length);
    const late = ((await client.send(new ScanCommand({ TableName: tables.sideOutput }))).Items ?? []).filter((i) => i.kind!.S === 'late');
    expect(late.map((i) => `${i.partition!.N}@${i.offset!.N}:${i.pipeline!.S}/${i.windowKey!.S}`).sort()).toEqual(lateForRisk.map((r) => `${r.partition}@${r.offset}:risk/7`).sort());
    // The closed window holds the first delivery only; everything else is as if all were applied.
    const expected = directComputation(records.filter((r) => r.offset === 0 || (r.value as { user_id: number }).user_id !== 7).map((r) => ({ topic: r.topic, partition: r.partition, value: r.value as Record<string, unknown> })), { delayMs: DELAY_MS });
    const stored = await storedFeatures(client, tables.windows);
    const risk7 = [...stored.keys()].filter((k) => k.startsWith('risk|7|'));
    expect(normalise(new Map(risk7.map((k) => [k, stored.get(k)!])))).toEqual(normalise(new Map(risk7.map((k) => [k, expected.get(k)!]))));
  });

  it('quarantines only the group DynamoDB refuses for good, and applies the other groups of the aggregate', async () => {
    const { tables, deps } = await setup();
    // The write covering partition 120 of user 7's risk window is refused, as an item over 400 KB would be.
    const refusing: WindowStore = {
      maxMarksPerWrite: deps.windows.maxMarksPerWrite,
      write: async (w) => {
        if (w.pipeline === 'risk' && w.key === '7' && w.marks.some((m) => m.partitionId === 'user_events-120')) {
          throw new RejectedWriteError('window risk/7: Item size has exceeded the maximum allowed size');
        }
        return deps.windows.write(w);
      },
    };
    const handler = createIngestHandler({ ...deps, windows: refusing });
    const records = fanIn(150, 8);
    expect(await handler(encodeKafkaEvent(records))).toEqual({ batchItemFailures: [] });
    const quarantined = ((await client.send(new ScanCommand({ TableName: tables.sideOutput }))).Items ?? []).map((i) => ({ kind: i.kind!.S, partition: Number(i.partition!.N), offset: Number(i.offset!.N) }));
    const group = new Set(quarantined.map((q) => q.partition));
    expect(group.has(120)).toBe(true);
    expect(group.size).toBeLessThanOrEqual(MAX_MARKS_PER_WRITE);
    const refused = records.filter((r) => group.has(r.partition) && (r.value as { user_id: number }).user_id === 7);
    expect(quarantined.every((q) => q.kind === 'quarantine')).toBe(true);
    expect(quarantined.map((q) => `${q.partition}@${q.offset}`).sort()).toEqual(refused.map((r) => `${r.partition}@${r.offset}`).sort());
    // User 7's risk window holds the other 100 partitions' events; every other window all of them.
    const expected = directComputation(records.filter((r) => !refused.includes(r)).map((r) => ({ topic: r.topic, partition: r.partition, value: r.value as Record<string, unknown> })), { delayMs: DELAY_MS });
    const all = directComputation(records.map((r) => ({ topic: r.topic, partition: r.partition, value: r.value as Record<string, unknown> })), { delayMs: DELAY_MS });
    const stored = await storedFeatures(client, tables.windows);
    for (const [id, features] of stored) expect(normalise(new Map([[id, features]]))).toEqual(normalise(new Map([[id, (id.startsWith('risk|7|') ? expected : all).get(id)!]])));
    expect(stored.size).toBe(all.size);
  });

  it('reads the marks of a 120-partition batch through the handler (BatchGetItem takes 100 keys)', async () => {
    const { tables, handler, reports } = await setup();
    const records = fanIn(120, 4);
    // Marks exist for every partition, so the read returns 120 items.
    expect(await handler(encodeKafkaEvent(records.filter((r) => r.offset === 0)))).toEqual({ batchItemFailures: [] });
    expect(await handler(encodeKafkaEvent(records))).toEqual({ batchItemFailures: [] });
    // The second delivery skipped the first offsets by their partition marks: all 120 were read.
    expect(reports[1]!.alreadyApplied).toBe(120);
    await expectExact(records, tables);
  });
});
