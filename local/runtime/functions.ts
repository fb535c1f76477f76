/**
 * Loads the very functions that deploy to Lambda (functions/*.ts), configured through the same
 * environment variables the CDK stack sets, pointed at the local services.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import type { BatchItemFailuresResponse, KafkaEvent } from '../../lib/codec/kafka-event.ts';
import type { CloserReport } from '../../lib/closer/close-windows.ts';
import type { DynamoDBStreamEvent, StreamBatchResponse } from '../../lib/dispatcher/stream-event.ts';
import { DEFAULT_ALERT_TOPIC, defaultMappings } from '../../lib/config/deployment.ts';
import type { Services } from './services.ts';

export interface FunctionSettings {
  watermarkDelayMs: number;
  idleTimeoutMs: number;
  ruleCacheTtlMs: number;
  /** RETENTION_DAYS, when given (else the functions' default, 7). */
  retentionDays?: number;
  /** A scheduled closer invocation's session (CLOSER_SESSION_MS, CLOSER_POLL_MS), as the stack sets one. */
  closerSession?: { sessionMs: number; pollMs: number };
}

export interface LocalFunctions {
  ingest(event: KafkaEvent, context: Context): Promise<BatchItemFailuresResponse>;
  closeWindows(event: unknown, context: Context): Promise<CloserReport>;
  /** The alert dispatcher, fed by the alerts table's stream mapping. */
  dispatchAlerts(event: DynamoDBStreamEvent, context: Context): Promise<StreamBatchResponse>;
  shutdown(): Promise<void>;
  /** Calls `listener` at the end of each closer pass (a session's or a single one) with its report and start; returns the unsubscribe. */
  onCloserPass(listener: (report: CloserReport, startedAt: number) => void): () => void;
  /** The functions' own DynamoDB clients, for fault injection. */
  clients: { ingest: DynamoDBClient; closer: DynamoDBClient };
}

/** A Lambda context good enough for middy and Powertools. */
export function lambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: `local-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** The consumer group of the local mapping of `topic`. */
export const localConsumerGroup = (topic: string): string => `streamguard-ingest-${topic}`;

let loaded: LocalFunctions | undefined;

/** Imports the functions once per process (their configuration is read at import, as in Lambda). */
export async function loadFunctions(services: Services, s: FunctionSettings): Promise<LocalFunctions> {
  if (loaded) return loaded;
  Object.assign(process.env, {
    WINDOWS_TABLE: services.tables.windows,
    STATE_TABLE: services.tables.state,
    SIDE_OUTPUT_TABLE: services.tables.sideOutput,
    // Both functions: the closer's alerts, and ingest's early ones (lib/ingest/early-alerts.ts).
    ALERTS_TABLE: services.tables.alerts,
    AWS_ENDPOINT_URL: services.dynamoEndpoint,
    KAFKA_BROKERS: services.brokers.join(','),
    ALERT_TOPIC: process.env.ALERT_TOPIC ?? DEFAULT_ALERT_TOPIC,
    WATERMARK_DELAY_MS: String(s.watermarkDelayMs),
    IDLE_TIMEOUT_MS: String(s.idleTimeoutMs),
    // Both functions read the rules through this cache: an edit reaches ingest and the closer alike.
    RULE_CACHE_TTL_MS: String(s.ruleCacheTtlMs),
    // As the stack sets it: the emulated mappings run with these very settings.
    REPORT_BATCH_ITEM_FAILURES: String(defaultMappings.every((m) => m.reportBatchItemFailures)),
  });
  if (s.retentionDays !== undefined) process.env.RETENTION_DAYS = String(s.retentionDays);
  if (s.closerSession) {
    process.env.CLOSER_SESSION_MS = String(s.closerSession.sessionMs);
    process.env.CLOSER_POLL_MS = String(s.closerSession.pollMs);
  }
  // The topics of a broker started here have known partition counts: a partition slow to start
  // must hold the watermark back (an external cluster's topics may differ, so nothing is assumed).
  if (services.started.some((s) => s.startsWith('Kafka'))) {
    process.env.SOURCE_PARTITIONS = defaultMappings.map((m) => `${m.topic}=${m.partitions}`).join(',');
  }
  // The mappings' consumer groups (local/runtime/runtime.ts names them): a partition with records
  // still to read is never idle to the closer.
  process.env.SOURCE_CONSUMER_GROUPS = defaultMappings.map((m) => `${m.topic}=${localConsumerGroup(m.topic)}`).join(',');
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  const ingest = await import('../../functions/ingest.ts');
  const closer = await import('../../functions/close-windows.ts');
  const dispatcher = await import('../../functions/dispatch-alerts.ts');
  loaded = {
    ingest: ingest.handler as unknown as LocalFunctions['ingest'],
    closeWindows: closer.handler as unknown as LocalFunctions['closeWindows'],
    dispatchAlerts: dispatcher.handler as unknown as LocalFunctions['dispatchAlerts'],
    shutdown: async () => {
      await Promise.all([closer.closeConnections(), dispatcher.closeConnections()]);
    },
    onCloserPass(listener) {
      closer.passListeners.add(listener);
      return () => closer.passListeners.delete(listener);
    },
    clients: { ingest: ingest.dynamoClient, closer: closer.dynamoClient },
  };
  return loaded;
}
