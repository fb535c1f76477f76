/** Builds the ingest dependencies from configuration: the one place adapters meet the domain. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IngestConfig } from '../config/ingest-config.ts';
import { builtinPipelines } from '../pipelines/builtin.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';
import { DynamoSideOutputStore } from '../store/dynamodb/side-output-store.ts';
import { DynamoWatermarkStore } from '../store/dynamodb/watermark-store.ts';
import { DynamoWindowStore } from '../store/dynamodb/window-store.ts';
import type { IngestDeps } from './ingest-batch.ts';
import { createRouter } from './router.ts';

export function wireIngest(
  client: DynamoDBClient,
  config: IngestConfig,
  pipelines: readonly Pipeline[] = builtinPipelines,
  now: () => number = Date.now,
): IngestDeps {
  return {
    router: createRouter(pipelines),
    windows: new DynamoWindowStore(client, { tableName: config.tables.windows, retentionMs: config.retentionMs, now }),
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
