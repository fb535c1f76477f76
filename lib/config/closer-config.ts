/** Configuration of the window closer, from its environment. */
import * as z from '../zod.ts';
import { DEFAULT_WATERMARK_DELAY_MS } from './deployment.ts';
import type { WatermarkOptions } from '../closer/watermark.ts';
import type { KafkaTarget } from '../sinks/msk.ts';
import type { TableNames } from '../store/tables.ts';
import { ConfigError, parseEnv, positiveInt, tableName } from './env.ts';
import { TABLE_ENV } from './ingest-config.ts';
import { KAFKA_TARGET_HINT, kafkaTargetEnv, kafkaTargetOf } from './kafka-target.ts';

export interface CloserConfig {
  tables: Pick<TableNames, 'windows' | 'state' | 'alerts'>;
  watermark: WatermarkOptions;
  concurrency: number;
  retentionMs: number;
  /**
   * Only for the source backlog (read-only admin requests); alerts reach Kafka through the
   * dispatcher. Undefined when no SOURCE_CONSUMER_GROUPS are set.
   */
  kafka: KafkaTarget | undefined;
  /** The consumer group of each source topic's mapping (SOURCE_CONSUMER_GROUPS), for the backlog. */
  sourceGroups: Record<string, string>;
  /** A scheduled invocation's session (CLOSER_SESSION_MS, CLOSER_POLL_MS; lib/closer/session.ts); 0 ms: one pass. */
  session: { sessionMs: number; pollMs: number };
}

/** The most a session may last: under the 15 minutes Lambda allows any invocation. */
export const MAX_CLOSER_SESSION_MS = 840_000;

export function loadCloserConfig(env: NodeJS.ProcessEnv = process.env): CloserConfig {
  const e = parseEnv(
    {
      [TABLE_ENV.windows]: tableName,
      [TABLE_ENV.state]: tableName,
      [TABLE_ENV.alerts]: tableName,
      WATERMARK_DELAY_MS: z._default(z.coerce.number().check(z.int(), z.nonnegative()), DEFAULT_WATERMARK_DELAY_MS),
      IDLE_TIMEOUT_MS: positiveInt(300_000),
      WATERMARK_POLICY: z._default(z.enum(['min', 'max'], { error: 'must be "min" (Flink: slowest active partition) or "max" (Spark)' }), 'min'),
      CLOSER_CONCURRENCY: positiveInt(16, 256),
      CLOSER_SESSION_MS: z._default(z.coerce.number({ error: 'must be a whole number of ms' }).check(z.int('must be a whole number of ms'), z.minimum(0), z.maximum(MAX_CLOSER_SESSION_MS)), 0),
      CLOSER_POLL_MS: z._default(z.coerce.number({ error: 'must be a whole number of ms' }).check(z.int('must be a whole number of ms'), z.minimum(100, 'must be at least 100 ms'), z.maximum(60_000)), 5_000),
      RETENTION_DAYS: positiveInt(7, 3650),
      ...kafkaTargetEnv,
      SOURCE_PARTITIONS: z.optional(
        z.string().check(z.regex(/^[a-zA-Z0-9._-]+=[1-9]\d*(,[a-zA-Z0-9._-]+=[1-9]\d*)*$/, 'must be topic=partitions[,topic=partitions...], e.g. user_events=12,iot_telemetry=6')),
      ),
      SOURCE_CONSUMER_GROUPS: z.optional(
        z.string().check(z.regex(/^[a-zA-Z0-9._-]+=[a-zA-Z0-9._:-]+(,[a-zA-Z0-9._-]+=[a-zA-Z0-9._:-]+)*$/, 'must be topic=consumer-group[,topic=consumer-group...], the groups of the event source mappings')),
      ),
    },
    env,
    'streamguard close-windows',
  );
  const kafka = kafkaTargetOf(e);
  if (e.SOURCE_CONSUMER_GROUPS && !kafka) {
    throw new ConfigError(`streamguard close-windows is misconfigured; ${KAFKA_TARGET_HINT}: SOURCE_CONSUMER_GROUPS needs the cluster to read the mappings' backlog`);
  }
  return {
    tables: { windows: e.WINDOWS_TABLE, state: e.STATE_TABLE, alerts: e.ALERTS_TABLE },
    watermark: {
      delayMs: e.WATERMARK_DELAY_MS,
      idleTimeoutMs: e.IDLE_TIMEOUT_MS,
      policy: e.WATERMARK_POLICY,
      ...(e.SOURCE_PARTITIONS ? { partitions: Object.fromEntries(e.SOURCE_PARTITIONS.split(',').map((p) => [p.split('=')[0]!, Number(p.split('=')[1])])) } : {}),
    },
    concurrency: e.CLOSER_CONCURRENCY,
    retentionMs: e.RETENTION_DAYS * 86_400_000,
    kafka,
    session: { sessionMs: e.CLOSER_SESSION_MS, pollMs: e.CLOSER_POLL_MS },
    sourceGroups: Object.fromEntries((e.SOURCE_CONSUMER_GROUPS?.split(',') ?? []).map((p) => [p.split('=')[0]!, p.split('=')[1]!])),
  };
}
