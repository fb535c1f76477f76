/**
 * Topics and event source mapping settings shared by the CDK stack and the local runtime, with
 * the property names of CDK's ManagedKafkaEventSource, so what runs locally is what deploys.
 */
import { builtinPipelines } from '../pipelines/builtin.ts';
import { IOT_TELEMETRY, USER_EVENTS, USER_REGISTRATIONS } from '../pipelines/topics.ts';

/** What every event source mapping here is told (CDK property names). */
export interface DeliverySettings {
  batchSize: number;
  /**
   * Whole seconds (MaximumBatchingWindowInSeconds). Unset: left out of the mapping, so AWS applies
   * its own default, 500 ms for MSK and self-managed Kafka (AWS_KAFKA_DEFAULT_BATCHING_WINDOW_S in local/esm/config.ts),
   * which no whole-second value can express; once set, AWS cannot go back to it without recreating
   * the mapping (https://docs.aws.amazon.com/lambda/latest/dg/services-msk-parameters.html).
   */
  maxBatchingWindow?: number;
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /** -1 = AWS's default: retry until the batch succeeds (Kafka) or its records expire (a stream, 24 h). */
  retryAttempts: number;
  /** Seconds; -1 = never expire. */
  maxRecordAge: number;
  bisectBatchOnError: boolean;
  reportBatchItemFailures: boolean;
}

export interface MappingSettings extends DeliverySettings {
  topic: string;
  /** Partitions the local broker creates (in AWS the cluster's topic decides). */
  partitions: number;
}

// Partitions of each topic on the local broker; a topic not listed gets 3.
const PARTITIONS: Record<string, number> = { [USER_EVENTS]: 4, [USER_REGISTRATIONS]: 3, [IOT_TELEMETRY]: 2 };

/** One mapping per topic any built-in pipeline reads. */
export const defaultMappings: MappingSettings[] = [...new Set(builtinPipelines.map((p) => p.source.topic))].map((topic) => ({
  topic,
  partitions: PARTITIONS[topic] ?? 3,
  batchSize: 500,
  // maxBatchingWindow unset: AWS's 500 ms. The 1 s this was before put up to a second of batching
  // wait on an early alert's 2 s budget (issue #13); 0.5 s costs about the same write units at
  // the bench's rates (README, cost model).
  startingPosition: 'TRIM_HORIZON',
  // AWS's own defaults, the only values a Kafka mapping takes in on-demand mode (the four error
  // controls need a provisioned poller config; see checkMappingMode in infra/config.ts). They are
  // also what exactly-once needs: a failed batch is retried whole until it succeeds, never given up.
  retryAttempts: -1,
  maxRecordAge: -1,
  bisectBatchOnError: false,
  reportBatchItemFailures: false,
}));

export const DEFAULT_ALERT_TOPIC = 'fraud_alerts';

/** Allowed lateness of event time (Flink's bounded out-of-orderness): 10 minutes, as the source system. Ingest and the closer must use the same value. */
export const DEFAULT_WATERMARK_DELAY_MS = 600_000;
/** Where records the mappings give up on go (a Kafka topic locally). */
export const DEFAULT_FAILURE_TOPIC = 'streamguard_ingest_failures';
export const DEFAULT_CLOSER_SCHEDULE_MINUTES = 1;

/** The alerts table's stream mapping (CDK DynamoEventSource property names), for the stack and the local runtime. */
export interface AlertStreamSettings extends DeliverySettings {
  /** Seconds; always set: a stream mapping's AWS default is 0, which the stack writes out. */
  maxBatchingWindow: number;
  parallelizationFactor: number;
}

/**
 * Bounded retries and record age, so an alert the topic refuses for good goes to the on-failure
 * queue instead of holding its shard for the stream's 24 hours; partial batch responses and
 * bisection, so it is found alone and the alerts beside it go through. TRIM_HORIZON: alerts
 * recorded before the mapping existed are still sent. No batching window: an alert goes at once.
 */
export const alertStreamMapping: AlertStreamSettings = {
  batchSize: 100,
  maxBatchingWindow: 0,
  startingPosition: 'TRIM_HORIZON',
  retryAttempts: 10,
  maxRecordAge: 3_600,
  bisectBatchOnError: true,
  reportBatchItemFailures: true,
  parallelizationFactor: 1,
};
