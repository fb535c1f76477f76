/** Configuration of the ingest function, from its environment. */
import { DEFAULT_WATERMARK_DELAY_MS } from './deployment.ts';
import * as z from '../zod.ts';
import { parseEnv, positiveInt, tableName } from './env.ts';
import { DEFAULT_RULE_TTL_MS } from '../rules/rule-cache.ts';
import type { TableNames } from '../store/tables.ts';

export interface IngestConfig {
  /**
   * `alerts` present: rules that fire early are evaluated after each window write and their alerts
   * recorded there (lib/ingest/early-alerts.ts); absent, every alert waits for the closer.
   */
  tables: Omit<TableNames, 'alerts'> & { alerts?: string };
  /** How long the rules read from the state table are trusted: the closer's, so both pick an edit up alike. */
  ruleCacheTtlMs: number;
  maxRecordBytes: number;
  writeConcurrency: number;
  retentionMs: number;
  /** Must equal the closer's: it decides which events are late when read (see lib/ingest/plan.ts). */
  watermarkDelayMs: number;
  /**
   * Whether the mappings honour partial batch responses (ReportBatchItemFailures). When they do not,
   * a batch that cannot be applied fully must fail whole: a `batchItemFailures` answer would be
   * taken as success and its records committed unapplied.
   */
  reportBatchItemFailures: boolean;
  /** How far an event's time may be ahead of its record's Kafka timestamp before it is quarantined. */
  maxEventAheadMs: number;
}

/**
 * Five minutes: clock skew between a device and its producer is seconds when clocks are synced;
 * and below the default 10-minute watermark delay, an event accepted at the bound cannot make an
 * on-time record of its partition late.
 */
export const DEFAULT_MAX_EVENT_AHEAD_MS = 300_000;
/** A day: beyond it the bound no longer protects the watermark from anything. */
export const MAX_EVENT_AHEAD_LIMIT_MS = 86_400_000;

/** Environment variables naming the tables, shared with the CDK stack and the local runtime. */
export const TABLE_ENV = {
  windows: 'WINDOWS_TABLE',
  state: 'STATE_TABLE',
  sideOutput: 'SIDE_OUTPUT_TABLE',
  alerts: 'ALERTS_TABLE',
} as const satisfies Record<keyof TableNames, string>;

const DAY_MS = 86_400_000;

export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const parsed = parseEnv(
    {
      [TABLE_ENV.windows]: tableName,
      [TABLE_ENV.state]: tableName,
      [TABLE_ENV.sideOutput]: tableName,
      [TABLE_ENV.alerts]: z.optional(tableName),
      RULE_CACHE_TTL_MS: positiveInt(DEFAULT_RULE_TTL_MS, 600_000),
      // Events here are a few hundred bytes; anything near Kafka's 1 MB default is not one.
      MAX_RECORD_BYTES: positiveInt(64 * 1024, 1024 * 1024),
      WRITE_CONCURRENCY: positiveInt(32, 512),
      RETENTION_DAYS: positiveInt(7, 3650),
      WATERMARK_DELAY_MS: z._default(z.coerce.number().check(z.int(), z.nonnegative()), DEFAULT_WATERMARK_DELAY_MS),
      // Off unless the stack says every mapping has it: failing whole is safe either way.
      REPORT_BATCH_ITEM_FAILURES: z._default(z.enum(['true', 'false'], { error: 'must be "true" or "false" (the mappings\' ReportBatchItemFailures)' }), 'false'),
      MAX_EVENT_AHEAD_MS: z._default(z.coerce.number().check(z.int(), z.nonnegative(), z.maximum(MAX_EVENT_AHEAD_LIMIT_MS)), DEFAULT_MAX_EVENT_AHEAD_MS),
    },
    env,
    'streamguard ingest',
  );
  return {
    tables: { windows: parsed.WINDOWS_TABLE, state: parsed.STATE_TABLE, sideOutput: parsed.SIDE_OUTPUT_TABLE, ...(parsed.ALERTS_TABLE ? { alerts: parsed.ALERTS_TABLE } : {}) },
    ruleCacheTtlMs: parsed.RULE_CACHE_TTL_MS,
    maxRecordBytes: parsed.MAX_RECORD_BYTES,
    writeConcurrency: parsed.WRITE_CONCURRENCY,
    retentionMs: parsed.RETENTION_DAYS * DAY_MS,
    watermarkDelayMs: parsed.WATERMARK_DELAY_MS,
    reportBatchItemFailures: parsed.REPORT_BATCH_ITEM_FAILURES === 'true',
    maxEventAheadMs: parsed.MAX_EVENT_AHEAD_MS,
  };
}
