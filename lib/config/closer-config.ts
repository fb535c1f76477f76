/** Configuration of the window closer, from its environment. */
import * as z from 'zod';
import { DEFAULT_ALERT_TOPIC, DEFAULT_WATERMARK_DELAY_MS } from './deployment.ts';
import type { WatermarkOptions } from '../closer/watermark.ts';
import type { KafkaTarget } from '../sinks/msk.ts';
import type { TableNames } from '../store/tables.ts';
import { ConfigError, parseEnv, positiveInt, tableName } from './env.ts';
import { TABLE_ENV } from './ingest-config.ts';

export interface CloserConfig {
  tables: Pick<TableNames, 'windows' | 'state' | 'alerts'>;
  watermark: WatermarkOptions;
  concurrency: number;
  retentionMs: number;
  alertTopic: string;
  kafka: KafkaTarget;
  /** The consumer group of each source topic's mapping (SOURCE_CONSUMER_GROUPS), for the backlog. */
  sourceGroups: Record<string, string>;
}

export function loadCloserConfig(env: NodeJS.ProcessEnv = process.env): CloserConfig {
  const e = parseEnv(
    {
      [TABLE_ENV.windows]: tableName,
      [TABLE_ENV.state]: tableName,
      [TABLE_ENV.alerts]: tableName,
      WATERMARK_DELAY_MS: z.coerce.number().int().nonnegative().default(DEFAULT_WATERMARK_DELAY_MS),
      IDLE_TIMEOUT_MS: positiveInt(300_000),
      WATERMARK_POLICY: z.enum(['min', 'max'], { error: 'must be "min" (Flink: slowest active partition) or "max" (Spark)' }).default('min'),
      CLOSER_CONCURRENCY: positiveInt(16, 256),
      RETENTION_DAYS: positiveInt(7, 3650),
      ALERT_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a Kafka topic name').default(DEFAULT_ALERT_TOPIC),
      MSK_CLUSTER_ARN: z.string().regex(/^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster\/.+/, 'must be an MSK cluster ARN').optional(),
      KAFKA_BROKERS: z.string().regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'must be host:port[,host:port...]').optional(),
      KAFKA_SECRET_ARN: z.string().regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+/, 'must be a Secrets Manager secret ARN').optional(),
      AWS_REGION: z.string().optional(),
      SOURCE_PARTITIONS: z
        .string()
        .regex(/^[a-zA-Z0-9._-]+=[1-9]\d*(,[a-zA-Z0-9._-]+=[1-9]\d*)*$/, 'must be topic=partitions[,topic=partitions...], e.g. user_events=12,iot_telemetry=6')
        .optional(),
      SOURCE_CONSUMER_GROUPS: z
        .string()
        .regex(/^[a-zA-Z0-9._-]+=[a-zA-Z0-9._:-]+(,[a-zA-Z0-9._-]+=[a-zA-Z0-9._:-]+)*$/, 'must be topic=consumer-group[,topic=consumer-group...], the groups of the event source mappings')
        .optional(),
    },
    env,
    'streamguard close-windows',
  );
  let kafka: KafkaTarget;
  if (e.MSK_CLUSTER_ARN) {
    const region = e.AWS_REGION ?? e.MSK_CLUSTER_ARN.split(':')[3]!;
    kafka = { kind: 'msk-iam', clusterArn: e.MSK_CLUSTER_ARN, region };
  } else if (e.KAFKA_BROKERS) {
    const brokers = e.KAFKA_BROKERS.split(',');
    kafka = e.KAFKA_SECRET_ARN ? { kind: 'scram', brokers, secretArn: e.KAFKA_SECRET_ARN } : { kind: 'brokers', brokers };
  } else {
    throw new ConfigError('streamguard close-windows is misconfigured; set MSK_CLUSTER_ARN (Amazon MSK with IAM auth) or KAFKA_BROKERS (host:port,...; with KAFKA_SECRET_ARN for SASL/SCRAM) for the alert topic');
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
    alertTopic: e.ALERT_TOPIC,
    kafka,
    sourceGroups: Object.fromEntries((e.SOURCE_CONSUMER_GROUPS?.split(',') ?? []).map((p) => [p.split('=')[0]!, p.split('=')[1]!])),
  };
}
