/** Builds the closer's dependencies from configuration: where adapters meet the domain. */
import type { Log } from '../log.ts';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CloserConfig } from '../config/closer-config.ts';
import { builtinPipelines } from '../pipelines/builtin.ts';
import { resultPipelinesOf } from '../rules/defaults.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';
import { wireRules } from '../rules/wire.ts';
import { KafkaSourceBacklog } from '../sinks/kafka-backlog.ts';
import { kafkaFor } from '../sinks/msk.ts';
import { DynamoAlertStore } from '../store/dynamodb/alert-store.ts';
import { DynamoCloserStore } from '../store/dynamodb/closer-store.ts';
import type { CloserDeps } from './close-windows.ts';

export function wireCloser(
  client: DynamoDBClient,
  config: CloserConfig,
  runtime: { now?: () => number; pipelines?: readonly Pipeline[]; ruleTtlMs?: number; log?: Log } = {},
): Omit<CloserDeps, 'remainingMs'> & { backlog: KafkaSourceBacklog | undefined } {
  const pipelines = runtime.pipelines ?? builtinPipelines;
  const now = runtime.now ?? Date.now;
  const { cache } = wireRules(client, { stateTable: config.tables.state, pipelines, now, ttlMs: runtime.ruleTtlMs, log: runtime.log });
  // Kafka only for the source backlog (read-only); alerts go out through the dispatcher.
  const target = config.kafka;
  const backlog = target && Object.keys(config.sourceGroups).length > 0 ? new KafkaSourceBacklog(() => kafkaFor(target, 'streamguard-closer'), config.sourceGroups, runtime.log) : undefined;
  return {
    store: new DynamoCloserStore(client, { windowsTable: config.tables.windows, stateTable: config.tables.state }),
    alerts: new DynamoAlertStore(client, { tableName: config.tables.alerts, retentionMs: config.retentionMs }),
    backlog,
    pipelines,
    rules: () => cache.rules(),
    watermark: config.watermark,
    resultPipelines: resultPipelinesOf(),
    concurrency: config.concurrency,
    now,
    // Room to finish the windows in flight and return before Lambda's timeout.
    reserveMs: 5_000,
  };
}
