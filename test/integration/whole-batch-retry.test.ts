/**
 * On-demand Kafka mappings take no partial batch response (ReportBatchItemFailures needs provisioned
 * mode), so a batch the handler could not fully apply must fail whole: answering with resume points
 * would be taken as success and the failed records committed unapplied. Retrying the batch whole is
 * safe, because the offset marks skip what was applied.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeKafkaEvent } from '../../lib/codec/encode.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import { BatchRetryError, createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { wireIngest } from '../../lib/ingest/wire.ts';
import { directComputation } from '../support/direct.ts';
import { freshTables, localClient } from '../support/dynamodb.ts';
import { mixedRecords } from '../support/records.ts';
import { normalise, storedFeatures } from '../support/stored.ts';

const clients: DynamoDBClient[] = [];
afterAll(() => clients.forEach((c) => c.destroy()));

/** DynamoDB answers ThrottlingException to every attempt (inside the SDK's retry loop) while `on()` holds. */
function throttle(client: DynamoDBClient, on: (input: Record<string, any>, command: string) => boolean): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (on(args.input as Record<string, any>, context.commandName ?? '')) {
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
      }
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'injectThrottling' },
  );
}

describe('whole-batch retries (on-demand mappings)', () => {

  it('without ReportBatchItemFailures (on-demand mode) fails the batch whole, and retrying it whole completes exactly once', async () => {
    const client = localClient({ maxAttempts: 2 });
    clients.push(client);
    const tables = await freshTables(client);
    // Fixture event times are in November 2026: a long retention keeps their items' TTL in the future.
    const config = loadIngestConfig({ WINDOWS_TABLE: tables.windows, STATE_TABLE: tables.state, SIDE_OUTPUT_TABLE: tables.sideOutput, WATERMARK_DELAY_MS: '3600000', RETENTION_DAYS: '3650' });
    expect(config.reportBatchItemFailures).toBe(false); // what the function does unless the stack says otherwise
    const handler = createIngestHandler(wireIngest(client, config), undefined, { reportBatchItemFailures: config.reportBatchItemFailures });

    const records = mixedRecords(600, 9).filter((r) => r.topic === 'user_registrations');
    let throttling = true;
    const hot = '10.0.0.3';
    throttle(client, (input, command) => throttling && command === 'UpdateItemCommand' && String(input.Key?.pk?.S).endsWith(`#${hot}`));
    const event = encodeKafkaEvent(records);
    // A partial answer here would be taken as success by the mapping and its records committed unapplied.
    await expect(handler(event)).rejects.toThrow(BatchRetryError);
    await expect(handler(event)).rejects.toThrow(/resume at user_registrations-\d+@\d+.*ReportBatchItemFailures is off/);

    // The mapping retries the same batch whole once storage recovers: what was applied is skipped.
    throttling = false;
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    const expected = directComputation(
      records.map((r) => ({ topic: r.topic, partition: r.partition, value: r.value as Record<string, unknown> })),
      { delayMs: 3_600_000 },
    );
    expect(normalise(await storedFeatures(client, tables.windows))).toEqual(normalise(expected));
  });
});
