/**
 * Configuration of the local Kafka event source mapping emulator.
 *
 * The top-level property names and meanings are those of the CDK `ManagedKafkaEventSource` /
 * `SelfManagedKafkaEventSource` props, so one object can drive both the emulator and the stack.
 * Durations that CDK takes as `Duration` are plain numbers of SECONDS here (the unit the
 * underlying CloudFormation properties use); fractions are accepted locally to keep tests fast.
 * Everything that only exists locally lives under `local`.
 */
import { z } from 'zod';

/**
 * Seconds AWS waits to fill a Kafka (MSK or self-managed) batch when MaximumBatchingWindowInSeconds
 * is not set: 500 ms (Lambda developer guide, "All Amazon MSK event source configuration
 * parameters"). Only reachable by leaving the property out: it takes whole seconds, and once set
 * it cannot return to this default without recreating the mapping.
 */
export const AWS_KAFKA_DEFAULT_BATCHING_WINDOW_S = 0.5;

/** What a mapping configured with `maxBatchingWindow` (or without it) waits, in seconds. */
export function effectiveBatchingWindowS(maxBatchingWindow: number | undefined): number {
  return maxBatchingWindow ?? AWS_KAFKA_DEFAULT_BATCHING_WINDOW_S;
}

/** AWS accepts these two starting positions for Kafka mappings (AT_TIMESTAMP is Kinesis-only here). */
export const startingPositions = ['TRIM_HORIZON', 'LATEST'] as const;
export type StartingPosition = (typeof startingPositions)[number];

// Kafka's own topic-name rule; the mock and MSK both reject anything else.
const topicName = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'not a valid Kafka topic name');

/**
 * AWS applies at most this many retries when retries are infinite (-1) and the mapping has an
 * on-failure destination (https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html).
 */
export const RETRY_CAP_WITH_DESTINATION = 10;

/** AWS Lambda's hard cap on a synchronous invocation payload (6 MB). */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Emulator-only knobs (no AWS counterpart, or one AWS does not let you tune). */
export const localOptionsSchema = z.object({
  /** Base of the exponential backoff between whole-batch retries (AWS's is not configurable). */
  retryBackoffBaseMs: z.number().int().min(0).default(100),
  /** Ceiling of that backoff. */
  retryBackoffMaxMs: z.number().int().min(0).default(5_000),
  /**
   * Kafka consumer session timeout. The librdkafka mock makes a restarted consumer wait about
   * this long minus one second before it is assigned partitions again, so keep it low; but above
   * 3 s, because the mock holds a new group's first JoinGroup for 3 s and drops a member whose
   * session lapses meanwhile (the join then times out and retries forever).
   */
  sessionTimeoutMs: z.number().int().min(4_000).default(6_000),
  heartbeatIntervalMs: z.number().int().min(100).default(500),
  /**
   * Cap on concurrent invocations across partitions. Unset: one in flight per partition, as AWS
   * does (order within a partition is always kept).
   */
  concurrency: z.number().int().min(1).max(1_000).optional(),
  /** Invocations running longer count as failures, like a Lambda timeout. */
  functionTimeoutSeconds: z.number().positive().default(60),
  /** Payload cap per invocation; AWS's is 6 MB, lower it only to test the cap. */
  maxPayloadBytes: z.number().int().min(1_024).max(MAX_PAYLOAD_BYTES).default(MAX_PAYLOAD_BYTES),
  /** Reported in the Lambda context and the on-failure headers. */
  functionName: z.string().min(1).default('local-function'),
  /** kafkajs client id. */
  clientId: z.string().min(1).default('local-esm'),
});

export const eventSourceMappingConfigSchema = z
  .object({
    /** The one topic the mapping reads (AWS allows exactly one per Kafka mapping). */
    topic: topicName,
    /** Kafka bootstrap servers, `host:port` each. */
    bootstrapServers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'want host:port')).min(1),
    /** Max records per invocation. AWS: default 100, max 10,000. */
    batchSize: z.number().int().min(1).max(10_000).default(100),
    /**
     * Seconds to wait to fill a batch (0-300, AWS MaximumBatchingWindowInSeconds). 0 = deliver what
     * is there. Unset: AWS's default for Kafka, {@link AWS_KAFKA_DEFAULT_BATCHING_WINDOW_S}.
     */
    maxBatchingWindow: z.number().min(0).max(300).optional(),
    startingPosition: z.enum(startingPositions).default('TRIM_HORIZON'),
    /** AWS: defaults to a UUID per mapping; locally a stable name derived from the topic. */
    consumerGroupId: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[a-zA-Z0-9\-/*:_+=.@]+$/, 'not a valid consumer group id')
      .optional(),
    /** Retries after the first failed attempt; -1 = until the records expire (AWS's default). */
    retryAttempts: z.number().int().min(-1).max(10_000).default(-1),
    /** Seconds; a failing batch whose oldest record is older is given up on. -1 = never. */
    maxRecordAge: z.number().min(-1).max(604_800).default(-1),
    /** Halve a failed batch before retrying it. */
    bisectBatchOnError: z.boolean().default(false),
    /** Honour `batchItemFailures` in the handler's response as per-partition resume points. */
    reportBatchItemFailures: z.boolean().default(false),
    /** On-failure destination: a Kafka topic on the same cluster (AWS also offers SQS/SNS/S3). */
    onFailure: topicName.optional(),
    /** `aws:kafka` for MSK, `SelfManagedKafka` for self-managed clusters. */
    eventSource: z.enum(['aws:kafka', 'SelfManagedKafka']).default('aws:kafka'),
    /** Put in MSK events; a fake cluster ARN when absent. Never sent for self-managed Kafka, as in AWS. */
    eventSourceArn: z.string().optional(),
    local: localOptionsSchema.prefault({}),
  })
  .refine((c) => c.onFailure !== c.topic, { message: 'onFailure must not be the source topic', path: ['onFailure'] });

/** What callers write: every property with a default may be omitted. */
export type EventSourceMappingInput = z.input<typeof eventSourceMappingConfigSchema>;
/** The validated configuration with defaults applied. */
export type EventSourceMappingConfig = z.output<typeof eventSourceMappingConfigSchema>;
export type LocalEsmOptions = z.output<typeof localOptionsSchema>;

/** A fake but well-formed MSK cluster ARN, used when none is configured. */
export const LOCAL_MSK_CLUSTER_ARN =
  'arn:aws:kafka:us-east-1:000000000000:cluster/local-msk/00000000-0000-0000-0000-000000000000-1';

/**
 * Validates a mapping configuration and applies the AWS defaults.
 *
 * @throws z.ZodError listing every invalid property.
 */
export function parseEventSourceMappingConfig(input: EventSourceMappingInput): EventSourceMappingConfig {
  return eventSourceMappingConfigSchema.parse(input);
}

/** Group id used when none is configured: stable, so restarts resume from committed offsets. */
export function defaultConsumerGroupId(config: Pick<EventSourceMappingConfig, 'topic' | 'local'>): string {
  return `${config.local.functionName}-${config.topic}`;
}

/**
 * Header names added to every record produced to the on-failure topic. The original record's own
 * key, value and headers are kept as they were.
 */
export const FAILURE_HEADERS = {
  sourceTopic: 'x-esm-source-topic',
  sourcePartition: 'x-esm-source-partition',
  sourceOffset: 'x-esm-source-offset',
  sourceTimestamp: 'x-esm-source-timestamp',
  /** `function-error` | `batch-item-failure` | `record-age-exceeded` */
  reason: 'x-esm-failure-reason',
  /** The error message (or the batchItemFailures summary), truncated to 1 KB. */
  error: 'x-esm-error',
  /** Invocations attempted for this record. */
  attempts: 'x-esm-attempts',
  functionName: 'x-esm-function',
  consumerGroupId: 'x-esm-consumer-group',
  failedAt: 'x-esm-failed-at',
} as const;
