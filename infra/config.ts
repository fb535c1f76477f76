/**
 * The stack's configuration: one typed object, validated at synth with errors that say what to set.
 *
 * Sources, later ones winning:
 *   1. a JSON file named by context `config` (`cdk synth -c config=infra/config.example.json`);
 *   2. context keys named like the properties below, top level or dotted
 *      (`-c mskClusterArn=arn:...`, `-c eventSourceMappings=false`, `-c closer.schedule="rate(5 minutes)"`).
 *
 * Event source mapping settings use the property names of CDK's ManagedKafkaEventSource, as the
 * local emulator does (local/esm/config.ts: the field schemas are taken from there) and their
 * defaults come from lib/config/deployment.ts, which the local runtime also reads.
 */
import { DEFAULT_WATERMARK_DELAY_MS } from '../lib/config/deployment.ts';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { eventSourceMappingConfigSchema } from '../local/esm/config.ts';
import { STREAM_RETENTION_SECONDS, streamMappingConfigSchema } from '../local/esm/stream-config.ts';
import { alertStreamMapping, DEFAULT_ALERT_TOPIC, DEFAULT_CLOSER_SCHEDULE_MINUTES, defaultMappings, type AlertStreamSettings, type DeliverySettings } from '../lib/config/deployment.ts';
import { DEFAULT_MAX_EVENT_AHEAD_MS, MAX_EVENT_AHEAD_LIMIT_MS } from '../lib/config/ingest-config.ts';
import { BUNDLE_AWS_SDK_DEFAULT } from './bundling.ts';

const esm = eventSourceMappingConfigSchema.shape;
const streamEsm = streamMappingConfigSchema.shape;

/** Thrown at synth when the configuration cannot deploy; the message names what to set. */
export class StackConfigError extends Error {
  override readonly name = 'StackConfigError';
}

const topicName = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)');
const hostPort = z.string().regex(/^[^,\s:]+:\d+$/, 'must be host:port');
/** Lists given on the command line arrive as one comma-separated string. */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(item));

export const MSK_CLUSTER_ARN = /^arn:(aws[a-z-]*):kafka:([a-z0-9-]+):(\d{12}):cluster\/([^/]+)\/([^/]+)$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/** Whole seconds: CloudFormation takes integers, while the local emulator accepts fractions. */
const wholeSeconds = (s: z.ZodNumber) => s.refine(Number.isInteger, 'must be whole seconds in AWS');

/** One Kafka event source mapping; omitted settings come from lib/config/deployment.ts. */
const mappingSchema = z.strictObject({
  topic: topicName,
  batchSize: esm.batchSize.unwrap().optional(),
  /** Whole seconds. Unset (the default): left out of the mapping, AWS's 500 ms. */
  maxBatchingWindow: wholeSeconds(esm.maxBatchingWindow.unwrap()).optional(),
  startingPosition: esm.startingPosition.unwrap().optional(),
  /** Default: "<stackName>-<topic>". Cannot be changed once the mapping exists. */
  consumerGroupId: esm.consumerGroupId,
  retryAttempts: esm.retryAttempts.unwrap().optional(),
  maxRecordAge: wholeSeconds(esm.maxRecordAge.unwrap())
    .refine((s) => s === -1 || (s >= 60 && s <= 604_800), 'must be -1 (never) or 60-604800 seconds in AWS')
    .optional(),
  bisectBatchOnError: esm.bisectBatchOnError.unwrap().optional(),
  reportBatchItemFailures: esm.reportBatchItemFailures.unwrap().optional(),
  /**
   * Provisioned mode: a floor and ceiling of event pollers for this mapping, billed per event poller
   * unit (README, "Provisioned mode"). Required by AWS for the four error-handling controls above.
   * Mappings with the same pollerGroupName share event poller units.
   */
  provisionedPollerConfig: z
    .strictObject({
      minimumPollers: z.number().int().min(1).max(200),
      maximumPollers: z.number().int().min(1).max(2_000),
      pollerGroupName: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/, 'must be 1-128 of a-z A-Z 0-9 _ -').optional(),
    })
    .refine((p) => p.minimumPollers <= p.maximumPollers, 'minimumPollers must not exceed maximumPollers')
    .optional(),
  enabled: z.boolean().default(true),
});

/** Settings shared by the local runtime and this stack (lib/config/deployment.ts). */
const sharedDefaults: DeliverySettings = defaultMappings[0] ?? {
  batchSize: 100,
  startingPosition: 'TRIM_HORIZON' as const,
  retryAttempts: -1,
  maxRecordAge: -1,
  bisectBatchOnError: false,
  reportBatchItemFailures: false,
};

const tablesSchema = z.strictObject({
  /** onDemand (PAY_PER_REQUEST, the default) or provisioned with the capacities below (the `due` index gets the same). */
  billing: z.enum(['onDemand', 'provisioned']).default('onDemand'),
  readCapacity: z.number().int().min(1).default(5),
  writeCapacity: z.number().int().min(1).default(5),
  pointInTimeRecovery: z.boolean().default(true),
  deletionProtection: z.boolean().default(false),
});

const ingestSchema = z.strictObject({
  memorySize: z.number().int().min(128).max(10_240).default(1024),
  timeoutSeconds: z.number().int().min(1).max(900).default(60),
  maxRecordBytes: z.number().int().min(1).max(1024 * 1024).default(64 * 1024),
  writeConcurrency: z.number().int().min(1).max(512).default(32),
  /** How far an event's time may be ahead of its Kafka record timestamp (MAX_EVENT_AHEAD_MS). */
  maxEventAheadMs: z.number().int().min(0).max(MAX_EVENT_AHEAD_LIMIT_MS).default(DEFAULT_MAX_EVENT_AHEAD_MS),
  reservedConcurrency: z.number().int().min(1).optional(),
});

const closerSchema = z.strictObject({
  memorySize: z.number().int().min(128).max(10_240).default(512),
  timeoutSeconds: z.number().int().min(10).max(900).default(60),
  /** EventBridge schedule expression. */
  schedule: z
    .string()
    .regex(/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$/, 'must be an EventBridge schedule: rate(1 minute) or cron(...)')
    .default(`rate(${DEFAULT_CLOSER_SCHEDULE_MINUTES} minute${DEFAULT_CLOSER_SCHEDULE_MINUTES === 1 ? '' : 's'})`),
  watermarkDelayMs: z.number().int().min(0).default(DEFAULT_WATERMARK_DELAY_MS),
  idleTimeoutMs: z.number().int().min(1).default(300_000),
  /** Partitions per source topic: a partition that has not reported yet then holds the watermark back. */
  sourcePartitions: z.record(z.string().regex(/^[a-zA-Z0-9._-]+$/), z.number().int().min(1)).optional(),
  watermarkPolicy: z.enum(['min', 'max']).default('min'),
  concurrency: z.number().int().min(1).max(256).default(16),
  ruleCacheTtlMs: z.number().int().min(1).max(600_000).default(30_000),
  reservedConcurrency: z.number().int().min(1).optional(),
  /**
   * How long each scheduled invocation keeps closing, a pass every `pollSeconds` (lib/closer/session.ts):
   * at-close alerts then wait about a poll, not up to a schedule interval. 0: one pass per tick.
   */
  sessionSeconds: z.number().int().min(0).max(840).default(50),
  pollSeconds: z.number().int().min(1).max(60).default(5),
})
  .superRefine((c, ctx) => {
    // A session must end with time to spare for its last pass and the handler's reserve (5 s).
    if (c.sessionSeconds > 0 && c.sessionSeconds + 10 > c.timeoutSeconds) {
      ctx.addIssue({ code: 'custom', path: ['sessionSeconds'], message: `must leave 10 s of closer.timeoutSeconds (${c.timeoutSeconds}) for the last pass: at most ${Math.max(0, c.timeoutSeconds - 10)}, or raise timeoutSeconds` });
    }
    const interval = scheduleIntervalSeconds(c.schedule);
    if (c.sessionSeconds > 0 && interval !== undefined && c.sessionSeconds >= interval) {
      ctx.addIssue({ code: 'custom', path: ['sessionSeconds'], message: `must be shorter than the schedule's interval (${interval} s, closer.schedule "${c.schedule}"), so sessions do not pile up` });
    }
    if (c.sessionSeconds > 0 && c.pollSeconds > c.sessionSeconds) {
      ctx.addIssue({ code: 'custom', path: ['pollSeconds'], message: `must not exceed closer.sessionSeconds (${c.sessionSeconds})` });
    }
  });

/** Seconds between runs of a rate(...) schedule; undefined for cron(...), which has no one interval. */
export function scheduleIntervalSeconds(schedule: string): number | undefined {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(schedule);
  if (!m) return undefined;
  const unit = m[2]!.startsWith('minute') ? 60 : m[2]!.startsWith('hour') ? 3_600 : 86_400;
  return Number(m[1]) * unit;
}

/**
 * The dispatcher and its DynamoDB stream mapping on the alerts table. Mapping settings have CDK
 * DynamoEventSource's names, as the local emulator's (local/esm/stream-config.ts: the field
 * schemas are taken from there); omitted ones come from lib/config/deployment.ts.
 */
const dispatcherSchema = z.strictObject({
  memorySize: z.number().int().min(128).max(10_240).default(256),
  timeoutSeconds: z.number().int().min(1).max(900).default(30),
  alertTopic: topicName.default(DEFAULT_ALERT_TOPIC),
  reservedConcurrency: z.number().int().min(1).optional(),
  batchSize: streamEsm.batchSize.unwrap().optional(),
  maxBatchingWindow: wholeSeconds(streamEsm.maxBatchingWindow.unwrap()).optional(),
  startingPosition: streamEsm.startingPosition.optional(),
  retryAttempts: streamEsm.retryAttempts.unwrap().optional(),
  maxRecordAge: wholeSeconds(streamEsm.maxRecordAge.unwrap())
    .refine((s) => s === -1 || (s >= 60 && s <= 604_800), 'must be -1 (never) or 60-604800 seconds in AWS')
    .optional(),
  bisectBatchOnError: streamEsm.bisectBatchOnError.unwrap().optional(),
  reportBatchItemFailures: streamEsm.reportBatchItemFailures.unwrap().optional(),
  parallelizationFactor: streamEsm.parallelizationFactor.unwrap().optional(),
});

const alarmsSchema = z.strictObject({
  /** SNS topic (existing) that alarms notify; none by default. */
  topicArn: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/, 'must be an SNS topic ARN').optional(),
  /** Records behind the head of a partition (AWS/Lambda OffsetLag, maximum over 5 minutes). */
  offsetLag: z.number().int().min(1).default(10_000),
  /** Quarantined records per 5 minutes. */
  quarantined: z.number().int().min(1).default(100),
  /** Late events per 5 minutes. */
  lateEvents: z.number().int().min(1).default(1_000),
  /** Alerts fired (all pipelines) per 5 minutes at which the AlertsFired alarm goes off. */
  alertsFired: z.number().int().min(1).default(1),
  /** Age (ms) of the oldest alert record the dispatcher has not sent yet (AWS/Lambda IteratorAge, maximum). */
  alertIteratorAgeMs: z.number().int().min(1).default(60_000),
});

const vpcSchema = z.strictObject({
  vpcId: z.string().regex(/^vpc-[0-9a-f]+$/, 'must be a VPC id (vpc-...)'),
  subnetIds: list(z.string().regex(/^subnet-[0-9a-f]+$/, 'must be a subnet id (subnet-...)')).pipe(z.array(z.string()).min(1)),
  securityGroupIds: list(z.string().regex(/^sg-[0-9a-f]+$/, 'must be a security group id (sg-...)')).pipe(z.array(z.string()).min(1)),
  /** Route tables of those subnets: when given, the stack adds a DynamoDB gateway endpoint to them. */
  routeTableIds: list(z.string().regex(/^rtb-[0-9a-f]+$/, 'must be a route table id (rtb-...)')).optional(),
});

const onFailureSchema = z.discriminatedUnion('type', [
  /** An SQS queue the stack creates (the default). */
  z.strictObject({ type: z.literal('sqs') }),
  /** A Kafka topic on the same cluster. */
  z.strictObject({ type: z.literal('kafka'), topic: topicName }),
  z.strictObject({ type: z.literal('none') }),
]);

export const stackConfigSchema = z
  .strictObject({
    stackName: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,99}$/, 'must be a CloudFormation stack name').default('StreamGuard'),
    /** Leave unset for an environment-agnostic stack (synth needs no credentials). */
    env: z
      .strictObject({
        account: z.union([z.string(), z.number()]).transform(String).pipe(z.string().regex(/^\d{12}$/, 'must be a 12-digit account id')).optional(),
        region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be a region such as eu-west-1').optional(),
      })
      .optional(),
    /** Amazon MSK (IAM auth for the closer; the mappings use IAM unless secretArn is set). */
    mskClusterArn: z.string().regex(MSK_CLUSTER_ARN, 'must be an MSK cluster ARN: arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>').optional(),
    /** Self-managed Kafka: the brokers (host:port, list or comma-separated). */
    bootstrapServers: list(hostPort).pipe(z.array(z.string()).min(1, 'must list at least one broker')).optional(),
    /** Secrets Manager secret (complete ARN) with SASL/SCRAM-512 credentials for the mappings. */
    secretArn: z.string().regex(SECRET_ARN, 'must be a Secrets Manager secret ARN').optional(),
    /** Where the closer runs (to reach the brokers) and, for self-managed Kafka, the mappings' network. */
    vpc: vpcSchema.optional(),
    /** false: tables, functions and schedule only (LocalStack free tier has no MSK / Kafka mappings). */
    eventSourceMappings: z.boolean().default(true),
    mappings: z
      .array(mappingSchema)
      .min(1)
      .default(() => defaultMappings.map((m) => ({ topic: m.topic, enabled: true })))
      .refine((ms) => new Set(ms.map((m) => m.topic)).size === ms.length, 'each topic may have one mapping'),
    onFailure: onFailureSchema.default({ type: 'sqs' }),
    runtime: z.enum(['nodejs22.x', 'nodejs24.x']).default('nodejs22.x'),
    architecture: z.enum(['arm64', 'x86_64']).default('arm64'),
    /**
     * true: the AWS SDK v3 is bundled into each function, pinned by the lock file. false: it is
     * left to the copy the Lambda runtime ships (smaller bundles, slower init as measured, and the
     * runtime's SDK version). infra/bundling.ts; docs/design.md, "Cold start".
     */
    bundleAwsSdk: z.boolean().default(BUNDLE_AWS_SDK_DEFAULT),
    /** How long windows, side outputs and alerts are kept (DynamoDB TTL). */
    retentionDays: z.number().int().min(1).max(3650).default(7),
    logRetentionDays: z.number().int().min(1).default(30),
    /** For tables and log groups. retain: kept when the stack is deleted (delete them by hand). */
    removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
    logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
    tables: tablesSchema.prefault({}),
    ingest: ingestSchema.prefault({}),
    closer: closerSchema.prefault({}),
    dispatcher: dispatcherSchema.prefault({}),
    alarms: alarmsSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.mskClusterArn && c.bootstrapServers) {
      ctx.addIssue({ code: 'custom', path: ['bootstrapServers'], message: 'set mskClusterArn OR bootstrapServers, not both' });
    } else if (!c.mskClusterArn && !c.bootstrapServers) {
      ctx.addIssue({
        code: 'custom',
        path: ['mskClusterArn'],
        message:
          'required: set context mskClusterArn (Amazon MSK) or bootstrapServers+secretArn (self-managed Kafka with SASL/SCRAM); ' +
          'the dispatcher needs one for the alert topic even with eventSourceMappings=false',
      });
    } else if (c.bootstrapServers && c.eventSourceMappings && !c.secretArn && !c.vpc) {
      ctx.addIssue({
        code: 'custom',
        path: ['secretArn'],
        message: 'required with bootstrapServers: set secretArn (SASL/SCRAM-512 credentials), or vpc for brokers reachable without auth',
      });
    }
    if (c.onFailure.type === 'kafka' && c.mappings.some((m) => m.topic === (c.onFailure as { topic: string }).topic)) {
      ctx.addIssue({ code: 'custom', path: ['onFailure', 'topic'], message: 'must not be one of the source topics' });
    }
    if (c.tables.billing === 'onDemand' && c.tables.deletionProtection && c.removalPolicy === 'destroy') {
      ctx.addIssue({ code: 'custom', path: ['removalPolicy'], message: 'destroy cannot delete tables with deletionProtection' });
    }
  });

export type StackConfigInput = z.input<typeof stackConfigSchema>;
export type StackConfig = z.output<typeof stackConfigSchema>;
type Mapping = StackConfig['mappings'][number];

/** A mapping with every setting resolved: config, else the shared defaults for its topic. */
export interface ResolvedMapping {
  topic: string;
  batchSize: number;
  /** Whole seconds; undefined: not in the template, AWS's 500 ms. */
  maxBatchingWindow: number | undefined;
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  consumerGroupId: string;
  retryAttempts: number;
  maxRecordAge: number;
  bisectBatchOnError: boolean;
  reportBatchItemFailures: boolean;
  provisionedPollerConfig: { minimumPollers: number; maximumPollers: number; pollerGroupName?: string } | undefined;
  enabled: boolean;
}

/**
 * AWS's values for the Kafka error-handling controls: the only ones a mapping takes without a
 * provisioned poller config (https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html:
 * the console offers them under provisioned mode, the CLI example passes --provisioned-poller-config).
 */
const ON_DEMAND_ERROR_CONTROLS = { retryAttempts: -1, maxRecordAge: -1, bisectBatchOnError: false, reportBatchItemFailures: false } as const;

/**
 * What AWS would refuse, or what would lose records, in the resolved mappings: each problem names
 * the property to set. Error controls away from AWS's defaults need provisioned mode, and one ingest
 * function answers every mapping, so partial batch responses must be on for all of them or none.
 */
export function mappingProblems(mappings: readonly ResolvedMapping[]): string[] {
  const problems: string[] = [];
  mappings.forEach((m, i) => {
    if (m.provisionedPollerConfig) return;
    const set = (Object.keys(ON_DEMAND_ERROR_CONTROLS) as (keyof typeof ON_DEMAND_ERROR_CONTROLS)[]).filter((k) => m[k] !== ON_DEMAND_ERROR_CONTROLS[k]);
    if (set.length === 0) return;
    problems.push(
      `mappings.${i} (${m.topic}): ${set.map((k) => `${k}=${JSON.stringify(m[k])}`).join(', ')} ` +
        `${set.length === 1 ? 'is an error-handling control' : 'are error-handling controls'} AWS accepts only in provisioned mode: ` +
        `set mappings.${i}.provisionedPollerConfig (e.g. {"minimumPollers":1,"maximumPollers":3}; billed per event poller unit, see the README), ` +
        `or leave ${set.join(', ')} unset (AWS's defaults retry a failed batch until it succeeds, which exactly-once needs anyway)`,
    );
  });
  const partial = new Set(mappings.map((m) => m.reportBatchItemFailures));
  if (partial.size > 1) {
    problems.push(
      `mappings: reportBatchItemFailures must be the same on every mapping (one ingest function answers them all, ` +
        `and a partial batch response sent to a mapping without it commits the failed records): set it on all or none`,
    );
  }
  return problems;
}

export function resolveMapping(m: Mapping, stackName: string): ResolvedMapping {
  const d = defaultMappings.find((x) => x.topic === m.topic) ?? sharedDefaults;
  return {
    topic: m.topic,
    batchSize: m.batchSize ?? d.batchSize,
    maxBatchingWindow: m.maxBatchingWindow ?? d.maxBatchingWindow,
    startingPosition: m.startingPosition ?? d.startingPosition,
    consumerGroupId: m.consumerGroupId ?? `${stackName}-${m.topic}`,
    retryAttempts: m.retryAttempts ?? d.retryAttempts,
    maxRecordAge: m.maxRecordAge ?? d.maxRecordAge,
    bisectBatchOnError: m.bisectBatchOnError ?? d.bisectBatchOnError,
    reportBatchItemFailures: m.reportBatchItemFailures ?? d.reportBatchItemFailures,
    provisionedPollerConfig: m.provisionedPollerConfig,
    enabled: m.enabled,
  };
}

/** The alert stream mapping with every setting resolved: config, else lib/config/deployment.ts. */
export function resolveAlertStream(d: StackConfig['dispatcher']): AlertStreamSettings {
  const out = { ...alertStreamMapping };
  for (const k of Object.keys(out) as (keyof AlertStreamSettings)[]) {
    if (d[k] !== undefined) (out as Record<string, unknown>)[k] = d[k];
  }
  return out;
}

/**
 * What would make the alert stream mapping lose alerts or never use its on-failure queue, by AWS's
 * documented rules (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html,
 * services-ddb-batchfailurereporting.html): each problem names the property to set.
 */
export function alertStreamProblems(m: AlertStreamSettings): string[] {
  const problems: string[] = [];
  if (!m.reportBatchItemFailures) {
    problems.push(
      'dispatcher.reportBatchItemFailures: must be true: the dispatcher answers batchItemFailures, and Lambda ignores that answer unless the mapping has ' +
        'ReportBatchItemFailures, checkpointing past the alerts that were not sent',
    );
  }
  if (m.retryAttempts === -1 && m.maxRecordAge === -1) {
    problems.push(
      'dispatcher.retryAttempts / dispatcher.maxRecordAge: set at least one (e.g. retryAttempts=10): with both -1 an alert the topic refuses is retried ' +
        `until it leaves the stream (${STREAM_RETENTION_SECONDS / 3600} h), holding up its shard, and the on-failure queue never receives it`,
    );
  }
  if (m.maxRecordAge > STREAM_RETENTION_SECONDS) {
    problems.push(
      `dispatcher.maxRecordAge: ${m.maxRecordAge} s is beyond a DynamoDB stream's ${STREAM_RETENTION_SECONDS} s retention, so records expire first and never reach the ` +
        `on-failure queue: set it to at most ${STREAM_RETENTION_SECONDS} (or -1 with retryAttempts)`,
    );
  }
  return problems;
}

/** Validates a configuration object; the error lists each property with what to set. */
export function parseStackConfig(input: unknown, source = 'configuration'): StackConfig {
  const result = stackConfigSchema.safeParse(input);
  const lines = result.success
    ? [
        ...(result.data.eventSourceMappings ? mappingProblems(result.data.mappings.map((m) => resolveMapping(m, result.data.stackName))) : []),
        ...alertStreamProblems(resolveAlertStream(result.data.dispatcher)),
      ]
    : result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  if (result.success && lines.length === 0) return result.data;
  throw new StackConfigError(`streamguard stack ${source} is invalid; set these (config file or -c key=value):\n${lines.map((l) => `  ${l}`).join('\n')}`);
}

/** A context value from the command line is a string: read JSON-looking ones as JSON. */
function contextValue(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  if (/^[[{]/.test(s) || /^(true|false|null)$/.test(s) || /^-?\d+(\.\d+)?$/.test(s)) {
    try {
      return JSON.parse(s);
    } catch {
      return v;
    }
  }
  return v;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/**
 * Builds the configuration from CDK context: the file named by `config`, then every context key
 * whose first dotted segment is a configuration property.
 */
export function loadStackConfig(context: Record<string, unknown>, cwd: string = process.cwd()): StackConfig {
  let input: Record<string, unknown> = {};
  let source = 'context';
  const file = context.config;
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '') throw new StackConfigError('context "config" must be the path of a JSON config file');
    const path = isAbsolute(file) ? file : resolve(cwd, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new StackConfigError(`cannot read the config file ${path} (context "config"): ${(err as Error).message}`);
    }
    try {
      input = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new StackConfigError(`the config file ${path} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new StackConfigError(`the config file ${path} must hold a JSON object`);
    delete input.$schema;
    delete input.$comment;
    source = `config ${file} + context`;
  }
  const keys = new Set(Object.keys(stackConfigSchema.shape));
  for (const [key, raw] of Object.entries(context)) {
    const path = key.split('.');
    if (!keys.has(path[0]!)) continue;
    setPath(input, path, contextValue(raw));
  }
  return parseStackConfig(input, source);
}
