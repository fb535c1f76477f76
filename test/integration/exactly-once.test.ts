/**
 * Exactly-once state on at-least-once delivery, against DynamoDB Local: however records are
 * redelivered, the stored windows equal a direct computation over the records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { createRouter } from '../../lib/ingest/router.ts';
import { registrationsPerIp } from '../../lib/pipelines/builtin.ts';
import { hopping, minutes } from '../../lib/pipelines/window.ts';
import { scanWindows } from '../../lib/store/dynamodb/scan-windows.ts';
import type { IngestDeps } from '../../lib/ingest/ingest-batch.ts';
import type { WindowStore } from '../../lib/store/ports.ts';
import { directComputation } from '../support/direct.ts';
import { freshIngest, localClient } from '../support/dynamodb.ts';
import { mixedRecords, recut } from '../support/records.ts';
import { normalise, storedFeatures } from '../support/stored.ts';

/**
 * The records' event times spread over two hours in no order, so with a one-hour delay some are
 * late for the shorter windows: lateness must be decided the same on every delivery too.
 */
const DELAY_MS = 3_600_000;

let client: DynamoDBClient;
beforeAll(() => {
  client = localClient();
});
afterAll(() => client.destroy());

const setup = () => freshIngest(client, DELAY_MS);

async function expectExact(records: RecordInput[], windowsTable: string) {
  const expected = directComputation(
    records.map((r) => ({ topic: r.topic, partition: r.partition, value: r.value as Record<string, unknown> })),
    { delayMs: DELAY_MS },
  );
  const stored = await storedFeatures(client, windowsTable);
  expect(stored.size).toBe(expected.size);
  expect(normalise(stored)).toEqual(normalise(expected));
}

const records = mixedRecords(1500, 42);

describe('exactly-once windowed state', () => {
  it('applies each record once when the whole stream is delivered twice', async () => {
    const { tables, handler } = await setup();
    const batches = recut(records, 1, 120);
    for (const batch of batches) expect(await handler(encodeKafkaEvent(batch))).toEqual({ batchItemFailures: [] });
    for (const batch of batches) expect(await handler(encodeKafkaEvent(batch))).toEqual({ batchItemFailures: [] });
    await expectExact(records, tables.windows);
  });

  it('applies each record once when redelivery cuts batches at other boundaries', async () => {
    const { tables, handler } = await setup();
    // First delivery in small batches, stopping halfway through; then everything again in big ones.
    const small = recut(records, 2, 30);
    for (const batch of small.slice(0, Math.floor(small.length / 2))) await handler(encodeKafkaEvent(batch));
    for (const batch of recut(records, 3, 400)) expect(await handler(encodeKafkaEvent(batch))).toEqual({ batchItemFailures: [] });
    await expectExact(records, tables.windows);
  });

  it('completes a batch that crashed between its writes, without double counting', async () => {
    const { tables, deps } = await setup();
    let writes = 0;
    const crashAfter = 17;
    const crashing: WindowStore = {
      write: (w) => {
        if (++writes === crashAfter) throw new Error('simulated crash between writes');
        return deps.windows.write(w);
      },
    };
    const crashingHandler = createIngestHandler({ ...deps, windows: crashing } satisfies IngestDeps);
    const handler = createIngestHandler(deps);
    const batches = recut(records, 4, 200);
    let crashed = 0;
    for (const batch of batches) {
      writes = 0;
      try {
        await crashingHandler(encodeKafkaEvent(batch));
      } catch {
        crashed++;
        // The mapping retries the whole batch, here cut differently: first half, then all of it.
        await handler(encodeKafkaEvent(batch.slice(0, Math.floor(batch.length / 2))));
        await handler(encodeKafkaEvent(batch));
      }
    }
    expect(crashed).toBeGreaterThan(0);
    await expectExact(records, tables.windows);
  });

  it('counts one key fed from several partitions exactly, whatever the interleaving', async () => {
    const { tables, handler } = await setup();
    const regs = records.filter((r) => r.topic === 'user_registrations');
    const partitionsPerIp = new Map<string, Set<number>>();
    for (const r of regs) {
      const ip = (r.value as { ip: string }).ip;
      if (!partitionsPerIp.has(ip)) partitionsPerIp.set(ip, new Set());
      partitionsPerIp.get(ip)!.add(r.partition);
    }
    expect([...partitionsPerIp.values()].every((s) => s.size > 1)).toBe(true);
    // Each partition delivered at least once, some twice, in different cuts, interleaved.
    await Promise.all([5, 6, 7].map(async (seed) => {
      for (const batch of recut(regs, seed, 25)) await handler(encodeKafkaEvent(batch));
    }));
    await expectExact(regs, tables.windows);
  });

  it('applies each event to its one bucket of a hopping pipeline once, whatever the redelivery', async () => {
    const { tables, deps } = await setup();
    // The built-in registrations pipeline with 10-minute windows starting every 2 minutes.
    const hoppingRegistrations = { ...registrationsPerIp, window: hopping(minutes(10), { every: minutes(2) }) };
    const handler = createIngestHandler({ ...deps, router: createRouter([hoppingRegistrations]) });
    const regs = records.filter((r) => r.topic === 'user_registrations');
    await Promise.all([8, 9].map(async (seed) => {
      for (const batch of recut(regs, seed, 100)) await handler(encodeKafkaEvent(batch));
    }));
    // Counted directly: per (ip, 2-minute bucket), with the delay of the other tests, an event whose
    // bucket ended at or before the partition watermark skipped (all or nothing for its five windows).
    const want = new Map<string, number>();
    const seen = new Map<number, number>();
    for (const r of regs) {
      const { ip, event_time } = r.value as { ip: string; event_time: string };
      const t = Date.parse(event_time);
      const watermark = (seen.get(r.partition) ?? -Infinity) - DELAY_MS;
      seen.set(r.partition, Math.max(seen.get(r.partition) ?? -Infinity, t));
      const start = Math.floor(t / minutes(2)) * minutes(2);
      if (start + minutes(2) > watermark) want.set(`${ip}|${start}`, (want.get(`${ip}|${start}`) ?? 0) + 1);
    }
    expect(want.size).toBeGreaterThan(5 * 2);
    const stored = await scanWindows(client, tables.windows);
    // Each a bucket of 2 minutes, marked with the size of the windows it is merged into.
    expect(stored.every((w) => w.windowEnd === w.windowStart + minutes(2) && w.windowStart % minutes(2) === 0 && w.bucketOfSizeMs === minutes(10))).toBe(true);
    expect(new Map(stored.map((w) => [`${w.key}|${w.windowStart}`, w.slots.registrations]))).toEqual(want);
  });
});
