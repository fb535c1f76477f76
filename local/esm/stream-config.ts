/**
 * Configuration of the local DynamoDB stream event source mapping emulator.
 *
 * The top-level property names and meanings are those of CDK's `DynamoEventSource` props (as
 * config.ts does for the Kafka mappings), so one object drives the emulator and the stack.
 * Durations are plain numbers of SECONDS (the CloudFormation unit); fractions are accepted
 * locally to keep tests fast. The ranges are AWS's
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html). Everything that only
 * exists locally lives under `local`.
 */
import { z } from 'zod';
import { MAX_PAYLOAD_BYTES } from './config.ts';

export const streamStartingPositions = ['TRIM_HORIZON', 'LATEST'] as const;

/** DynamoDB Streams keeps records for 24 hours: a record age above it never applies. */
export const STREAM_RETENTION_SECONDS = 86_400;

/** Emulator-only knobs. */
export const streamLocalOptionsSchema = z.object({
  /** Pause after an empty GetRecords (AWS polls each shard about four times a second). */
  pollIntervalMs: z.number().int().min(10).max(10_000).default(250),
  /** How often the shard list is read again (shards split and roll over). */
  shardRefreshMs: z.number().int().min(100).max(60_000).default(5_000),
  retryBackoffBaseMs: z.number().int().min(0).default(100),
  retryBackoffMaxMs: z.number().int().min(0).default(5_000),
  functionTimeoutSeconds: z.number().positive().default(60),
  maxPayloadBytes: z.number().int().min(1_024).max(MAX_PAYLOAD_BYTES).default(MAX_PAYLOAD_BYTES),
  functionName: z.string().min(1).default('local-function'),
});

export const streamMappingConfigSchema = z.object({
  /** The table whose latest stream is read (locally the stream is looked up from it). */
  tableName: z.string().regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'not a DynamoDB table name'),
  /** DynamoDB (Local) endpoint; its streams API is served on the same endpoint. */
  endpoint: z.string().url(),
  /** AWS: default 100, max 10,000. */
  batchSize: z.number().int().min(1).max(10_000).default(100),
  /** Seconds, 0-300 (MaximumBatchingWindowInSeconds). */
  maxBatchingWindow: z.number().min(0).max(300).default(0),
  startingPosition: z.enum(streamStartingPositions),
  /** Retries after the first failed attempt; -1 = until the record expires (AWS's default). */
  retryAttempts: z.number().int().min(-1).max(10_000).default(-1),
  /** Seconds; -1 = never (the stream's 24 h retention still applies). AWS: -1 or 60-604,800. */
  maxRecordAge: z.number().min(-1).max(604_800).default(-1),
  bisectBatchOnError: z.boolean().default(false),
  reportBatchItemFailures: z.boolean().default(false),
  /** Batches per shard at once, 1-10. Emulated as 1: one batch per shard in flight, which keeps every order AWS keeps. */
  parallelizationFactor: z.number().int().min(1).max(10).default(1),
  local: streamLocalOptionsSchema.prefault({}),
});

export type StreamMappingInput = z.input<typeof streamMappingConfigSchema>;
export type StreamMappingConfig = z.output<typeof streamMappingConfigSchema>;

/**
 * What the mapping sends its on-failure destination for a batch it gave up on, in AWS's shape
 * (the batch's description, not its records: they stay readable in the stream for 24 hours, and
 * the alert records in the table for their retention).
 */
export interface StreamFailureRecord {
  requestContext: { requestId: string; functionArn: string; condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded'; approximateInvokeCount: number };
  responseContext: { statusCode: number; executedVersion: string; functionError: string };
  version: '1.0';
  timestamp: string;
  DDBStreamBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}
