/**
 * Throttling that outlasts the SDK's retries: the handler answers with ReportBatchItemFailures
 * resume points instead of failing the batch, and resuming there ends exactly-once.
 */
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { wireIngest } from '../../lib/ingest/wire.ts';
import { directComputation } from '../support/direct.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';
import { mixedRecords } from '../support/records.ts';
import { normalise, storedFeatures } from '../support/stored.ts';

const clients: DynamoDBClient[] = [];
afterAll(() => clients.forEach((c) => c.destroy()));

/** Makes DynamoDB answer ThrottlingException to every attempt (inside the SDK's retry loop) while `on()` holds. */
function throttle(client: DynamoDBClient, on: (input: Record<string, any>, command: string) => boolean): { attempts: number } {
  const seen = { attempts: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (on(args.input as Record<string, any>, context.commandName ?? '')) {
        seen.attempts++;
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
      }
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'injectThrottling' },
  );
  return seen;
}

describe('throttling beyond SDK retries', () => {
  it('reports per-partition resume points, advances no watermark past them, and resuming completes exactly once', async () => {
    const client = localClient({ maxAttempts: 2 });
    clients.push(client);
    const tables = await freshTables(client);
    const deps = wireIngest(
      client,
      loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput, WATERMARK_DELAY_MS: '3600000' }),
    );
    const handler = createIngestHandler(deps);

    const records = mixedRecords(600, 9).filter((r) => r.topic === 'user_registrations');
    let throttling = true;
    const hot = '10.0.0.3';
    const seen = throttle(client, (input, command) => throttling && command === 'UpdateItemCommand' && String(input.Key?.pk?.S).endsWith(`#${hot}`));

    const first = await handler(encodeKafkaEvent(records));
    expect(seen.attempts).toBeGreaterThanOrEqual(2); // the SDK retried before giving up
    expect(first.batchItemFailures.length).toBeGreaterThan(0);
    const resume = new Map(first.batchItemFailures.map((f) => [f.itemIdentifier.partition, f.itemIdentifier.offset]));
    for (const [partitionId, offset] of resume) {
      const firstHot = records.find((r) => `${r.topic}-${r.partition}` === partitionId && (r.value as { ip: string }).ip === hot)!;
      expect(offset).toBeLessThanOrEqual(firstHot.offset);
    }

    const marks = (await client.send(new ScanCommand({ TableName: tables.state }))).Items ?? [];
    for (const [partitionId, offset] of resume) {
      const mark = marks.find((m) => `${m.topic!.S}-${m.partition!.N}` === partitionId);
      const before = records.filter((r) => `${r.topic}-${r.partition}` === partitionId && r.offset < offset);
      if (!mark) {
        expect(before).toHaveLength(0);
        continue;
      }
      expect(Number(mark.lastOffset!.N)).toBeLessThan(offset);
      expect(Number(mark.maxEventTime!.N)).toBe(Math.max(...before.map((r) => Date.parse((r.value as { event_time: string }).event_time))));
    }

    // The mapping resumes each failed partition from its offset; the others moved on.
    throttling = false;
    const rest: RecordInput[] = records.filter((r) => {
      const from = resume.get(`${r.topic}-${r.partition}`);
      return from !== undefined && r.offset >= from;
    });
    expect(await handler(encodeKafkaEvent(rest))).toEqual({ batchItemFailures: [] });

    const expected = directComputation(
      records.map((r) => ({ topic: r.topic, partition: r.partition, value: r.value as Record<string, unknown> })),
      { delayMs: 3_600_000 },
    );
    expect(normalise(await storedFeatures(client, tables.windows))).toEqual(normalise(expected));
  });
});
