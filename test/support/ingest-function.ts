/**
 * The deployed ingest entry point (functions/ingest.ts: middy, Powertools, configuration from env)
 * pointed at fresh tables in DynamoDB Local, with a Lambda context good enough for both.
 */
import type { Context } from 'aws-lambda';
import { inject } from 'vitest';
import type { KafkaEvent } from '../../lib/codec/kafka-event.ts';
import type { TableNames } from '../../lib/store/tables.ts';

export const ingestContext = {
  functionName: 'streamguard-ingest',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:streamguard-ingest',
  memoryLimitInMB: '512',
  awsRequestId: 'test-request',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

export type IngestFunction = (event: KafkaEvent, context: Context) => Promise<{ batchItemFailures: unknown[] }>;

/** Sets the function's environment for `tables` (plus `env`), then imports it, as Lambda's cold start does. */
export async function loadIngestFunction(tables: TableNames, env: Record<string, string> = {}): Promise<IngestFunction> {
  Object.assign(process.env, {
    WINDOWS_TABLE: tables.windows,
    STATE_TABLE: tables.state,
    SIDE_OUTPUT_TABLE: tables.sideOutput,
    AWS_ENDPOINT_URL: inject('dynamoEndpoint'),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    ...env,
  });
  return ((await import('../../functions/ingest.ts')) as unknown as { handler: IngestFunction }).handler;
}
