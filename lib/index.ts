/**
 * The engine's public entry: pipelines and their DSL, ingest, the closer and the alert dispatcher as plain handlers,
 * rules, the storage ports and the errors. Nothing here imports the AWS SDK; the DynamoDB
 * adapters and the wiring of deployed functions are in lib/store/dynamodb/index.ts, the in-memory
 * adapters (for tests) in lib/store/memory/index.ts. See docs/design.md.
 */
export { pipeline, source, eventCountFeatures, type Pipeline, type Source } from './pipelines/pipeline.ts';
export { SOURCE_TOPICS, USER_EVENTS, USER_REGISTRATIONS, IOT_TELEMETRY, isSourceTopic, type SourceTopic } from './pipelines/topics.ts';
export { recordIdOf } from './codec/partition-id.ts';
export { tumbling, hopping, minutes, hours, windowStartOf, type TumblingWindow, type HoppingWindow, type WindowSpec, type TimeWindow } from './pipelines/window.ts';
export {
  count,
  sum,
  min,
  max,
  mean,
  distinct,
  isDistinctSummary,
  magnitudeOf,
  DEFAULT_EXACT_UP_TO,
  type DistinctOptions,
  type DistinctSummary,
  type Feature,
  type FeatureValue,
  type Slot,
  type SlotOp,
  type SlotValues,
} from './pipelines/features.ts';
export { HyperLogLog, HLL_ERROR_BOUND } from './windows/hll.ts';
export { outputFeatures, SAMPLE_SIZE, type OutputFeatures } from './closer/output-features.ts';
export { builtinPipelines, payments, risk, registrationsPerIp, iot, userEventsTopic, registrationsTopic, telemetryTopic, type PipelineName } from './pipelines/builtin.ts';
export { createIngestHandler, assertKafkaEvent, type IngestHandler } from './ingest/kafka-handler.ts';
export { ingestBatch, type IngestDeps, type IngestReport } from './ingest/ingest-batch.ts';
export { createRouter, type Router } from './ingest/router.ts';
export { closeWindows, type CloserDeps, type CloserReport, type PipelineReport } from './closer/close-windows.ts';
export { createCloserHandler, type CloserContext, type CloserHandler } from './closer/closer-handler.ts';
export { watermarkOf, type WatermarkOptions, type WatermarkPolicy } from './closer/watermark.ts';
export { createDispatcherHandler, dispatchAlerts, isAlertInsert, AlertRecordError, type DispatcherDeps, type DispatcherHandler, type DispatchReport } from './dispatcher/dispatch-alerts.ts';
export type { DynamoDBStreamEvent, DynamoDBStreamRecord, StreamBatchResponse } from './dispatcher/stream-event.ts';
export { alertId } from './closer/alert-id.ts';
export type { Alert, AlertSink, AlertStore, CloserStore, DueWindow, QuietClose, WindowVerdict } from './closer/ports.ts';
export type { SideOutputStore, WatermarkStore, WindowStore, WindowWrite, WindowWriteResult } from './store/ports.ts';
export { featuresOf, type Features, type StoredWindow } from './windows/features-of.ts';
export * from './rules/index.ts';
export { StreamguardError, InputError, PipelineDefinitionError } from './errors.ts';
export { ConfigError } from './config/env.ts';
export { StoreError, TransientStoreError, RejectedWriteError, StoreInconsistencyError, isTransient } from './store/errors.ts';
export { silentLog, type Log } from './log.ts';
export { decodeKafkaEvent, partitionIdOf, type KafkaEvent, type KafkaEventRecord, type DecodedRecord, type BatchItemFailuresResponse } from './codec/kafka-event.ts';
