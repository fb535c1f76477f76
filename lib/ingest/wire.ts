/**
 * Builds the ingest dependencies from configuration: the one place adapters meet the domain. With
 * an alerts table configured, rules that fire early are evaluated at ingest (lib/ingest/early-alerts.ts),
 * and so are sequence rules (lib/sequences), from the same rule cache.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IngestConfig } from '../config/ingest-config.ts';
import type { Log } from '../log.ts';
import { wireRules } from '../rules/wire.ts';
import { DynamoAlertStore } from '../store/dynamodb/alert-store.ts';
import { DynamoBucketReader } from '../store/dynamodb/bucket-reader.ts';
import { builtinPipelines } from '../pipelines/builtin.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';
import { DynamoDuePageStore } from '../store/dynamodb/due-page-store.ts';
import { DynamoSideOutputStore } from '../store/dynamodb/side-output-store.ts';
import { DynamoWatermarkStore } from '../store/dynamodb/watermark-store.ts';
import { DynamoWindowStore } from '../store/dynamodb/window-store.ts';
import { DynamoSequenceStore } from '../store/dynamodb/sequence-store.ts';
import { SequenceIngest } from '../sequences/ingest.ts';
import { validateSequenceRule } from '../sequences/rule.ts';
import { EarlyAlerts } from './early-alerts.ts';
import type { IngestDeps } from './ingest-batch.ts';
import { createRouter } from './router.ts';

export function wireIngest(
  client: DynamoDBClient,
  config: IngestConfig,
  pipelines: readonly Pipeline[] = builtinPipelines,
  now: () => number = Date.now,
  log?: Log,
): IngestDeps {
  let early: EarlyAlerts | undefined;
  let sequences: SequenceIngest | undefined;
  if (config.tables.alerts) {
    // The closer's rule store and cache (same table, same TTL): an edit reaches both alike.
    const { cache } = wireRules(client, { stateTable: config.tables.state, pipelines, ttlMs: config.ruleCacheTtlMs, now, log, validateSequence: validateSequenceRule });
    const alerts = new DynamoAlertStore(client, { tableName: config.tables.alerts, retentionMs: config.retentionMs });
    early = new EarlyAlerts({
      rules: () => cache.rules(),
      alerts,
      buckets: new DynamoBucketReader(client, config.tables.windows),
      now,
      onError: (error, what) => log?.warn(what, { error: String(error) }),
    });
    sequences = new SequenceIngest({
      rules: () => cache.sequenceRules(),
      states: new DynamoSequenceStore(client, config.tables.state),
      alerts,
      now,
      delayMs: config.watermarkDelayMs,
    });
  }
  return {
    ...(early ? { early } : {}),
    ...(sequences ? { sequences } : {}),
    router: createRouter(pipelines),
    windows: new DynamoWindowStore(client, { tableName: config.tables.windows, retentionMs: config.retentionMs, now }),
    duePages: new DynamoDuePageStore(client, { tableName: config.tables.windows, retentionMs: config.retentionMs, now, concurrency: config.writeConcurrency }),
    watermarks: new DynamoWatermarkStore(client, config.tables.state, now),
    sideOutput: new DynamoSideOutputStore(client, { tableName: config.tables.sideOutput, retentionMs: config.retentionMs }, now),
    options: {
      maxRecordBytes: config.maxRecordBytes,
      maxEventAheadMs: config.maxEventAheadMs,
      writeConcurrency: config.writeConcurrency,
      watermarkDelayMs: config.watermarkDelayMs,
    },
  };
}
