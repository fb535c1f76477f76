/**
 * The streamguard stack: DynamoDB tables (from lib/store/tables.ts), the ingest function with one
 * Kafka event source mapping per topic, the window closer on an EventBridge schedule, the alert
 * dispatcher on the alerts table's stream (the outbox), least-privilege roles, alarms and a dashboard. Everything comes from a validated StackConfig (infra/config.ts).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  AuthenticationMethod,
  DynamoEventSource,
  KafkaDlq,
  ManagedKafkaEventSource,
  SelfManagedKafkaEventSource,
  SqsDlq,
  type KafkaEventSourceProps,
} from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { loadCloserConfig } from '../lib/config/closer-config.ts';
import { loadDispatcherConfig } from '../lib/config/dispatcher-config.ts';
import { ConfigError } from '../lib/config/env.ts';
import { loadIngestConfig, TABLE_ENV } from '../lib/config/ingest-config.ts';
import { builtinPipelines } from '../lib/pipelines/builtin.ts';
import { allTables, windowsTable, type KeyDef, type TableDef } from '../lib/store/tables.ts';
import { bundleAliasArgs, BUNDLE_BANNER, BUNDLE_MAIN_FIELDS, BUNDLE_MINIFY, BUNDLE_SOURCE_MAP, bundleTarget } from './bundling.ts';
import { resolveAlertStream, resolveMapping, StackConfigError, type ResolvedMapping, type StackConfig } from './config.ts';
import { groupArn, parseClusterArn, topicArn, type MskCluster } from './kafka-arns.ts';
import { addMonitoring } from './monitoring.ts';

/** The repository root: entry points, package-lock.json and tsconfig.json live there. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface StreamGuardStackProps extends StackProps {
  config: StackConfig;
}

type TableId = TableDef['id'];

const MSK_EXECUTION_POLICY = 'service-role/AWSLambdaMSKExecutionRole';
const VPC_ACCESS_POLICY = 'service-role/AWSLambdaVPCAccessExecutionRole';
const managedPolicyFinding = (name: string) => `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${name}]`;

export class StreamGuardStack extends Stack {
  readonly tables: Record<TableId, dynamodb.Table>;
  readonly ingest: NodejsFunction;
  readonly closer: NodejsFunction;
  readonly dispatcher: NodejsFunction;
  readonly schedule: events.Rule;
  readonly failureQueue: sqs.Queue | undefined;
  /** Where the alert stream mapping hands the batches it gave up on. */
  readonly alertFailureQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: StreamGuardStackProps) {
    super(scope, id, props);
    const cfg = props.config;
    const removalPolicy = cfg.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const cluster = cfg.mskClusterArn ? parseClusterArn(cfg.mskClusterArn) : undefined;
    const mappings = cfg.mappings.map((m) => resolveMapping(m, cfg.stackName));

    // ---- Tables: built from the definitions the code uses, never re-spelled here.
    this.tables = Object.fromEntries(allTables.map((def) => [def.id, this.table(def, cfg, removalPolicy)])) as Record<TableId, dynamodb.Table>;
    const t = this.tables;

    // ---- Functions.
    const runtime = cfg.runtime === 'nodejs24.x' ? lambda.Runtime.NODEJS_24_X : lambda.Runtime.NODEJS_22_X;
    const architecture = cfg.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    const bundling: BundlingOptions = {
      forceDockerBundling: false,
      format: OutputFormat.ESM,
      target: bundleTarget(cfg.runtime),
      mainFields: BUNDLE_MAIN_FIELDS,
      banner: BUNDLE_BANNER,
      // Default true: the SDK pinned to the lock file, and faster to initialise bundled than loaded
      // from the runtime's node_modules (bench -- coldstart measures both; docs/design.md).
      bundleAwsSDK: cfg.bundleAwsSdk,
      minify: BUNDLE_MINIFY,
      sourceMap: BUNDLE_SOURCE_MAP,
      sourcesContent: false,
      tsconfig: join(REPO_ROOT, 'tsconfig.json'),
      // The Lambda-only credential chain (infra/bundling.ts); NodejsFunction has no `alias` option.
      esbuildArgs: bundleAliasArgs(REPO_ROOT),
    };
    const common = {
      runtime,
      architecture,
      bundling,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
    };
    const baseEnv = { NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_LOG_LEVEL: cfg.logLevel, RETENTION_DAYS: String(cfg.retentionDays) };

    const ingestEnv: Record<string, string> = {
      ...baseEnv,
      [TABLE_ENV.windows]: t.windows.tableName,
      [TABLE_ENV.state]: t.state.tableName,
      [TABLE_ENV.sideOutput]: t.sideOutput.tableName,
      // Early alerts (lib/ingest/early-alerts.ts): recorded there, from the closer's rules and TTL.
      [TABLE_ENV.alerts]: t.alerts.tableName,
      RULE_CACHE_TTL_MS: String(cfg.closer.ruleCacheTtlMs),
      MAX_RECORD_BYTES: String(cfg.ingest.maxRecordBytes),
      WRITE_CONCURRENCY: String(cfg.ingest.writeConcurrency),
      MAX_EVENT_AHEAD_MS: String(cfg.ingest.maxEventAheadMs),
      // Ingest judges lateness with the closer's delay: both must read the same value.
      WATERMARK_DELAY_MS: String(cfg.closer.watermarkDelayMs),
      // Partial batch responses only where the mappings honour them (the same on all: config.ts
      // checks); otherwise a batch not fully applied fails whole and is retried.
      REPORT_BATCH_ITEM_FAILURES: String(cfg.eventSourceMappings && mappings.length > 0 && mappings.every((m) => m.reportBatchItemFailures)),
    };
    // Where a Kafka client reaches the cluster (MSK: IAM auth, brokers looked up from the cluster ARN).
    const kafkaEnv: Record<string, string> = cluster
      ? { MSK_CLUSTER_ARN: cluster.arn }
      : { KAFKA_BROKERS: cfg.bootstrapServers!.join(','), ...(cfg.secretArn ? { KAFKA_SECRET_ARN: cfg.secretArn } : {}) };
    // The closer reads the mappings' backlog (read-only) when there are mappings; it never produces.
    const closerReadsBacklog = cfg.eventSourceMappings && mappings.length > 0;
    const closerEnv: Record<string, string> = {
      ...baseEnv,
      [TABLE_ENV.windows]: t.windows.tableName,
      [TABLE_ENV.state]: t.state.tableName,
      [TABLE_ENV.alerts]: t.alerts.tableName,
      WATERMARK_DELAY_MS: String(cfg.closer.watermarkDelayMs),
      IDLE_TIMEOUT_MS: String(cfg.closer.idleTimeoutMs),
      ...(cfg.closer.sourcePartitions
        ? { SOURCE_PARTITIONS: Object.entries(cfg.closer.sourcePartitions).map(([topic, n]) => `${topic}=${n}`).join(',') }
        : {}),
      // The mappings' groups: the closer reads their backlog, so a partition with records still to
      // read never counts as idle (lib/closer/watermark.ts).
      ...(closerReadsBacklog ? { SOURCE_CONSUMER_GROUPS: mappings.map((m) => `${m.topic}=${m.consumerGroupId}`).join(','), ...kafkaEnv } : {}),
      WATERMARK_POLICY: cfg.closer.watermarkPolicy,
      CLOSER_CONCURRENCY: String(cfg.closer.concurrency),
      CLOSER_SESSION_MS: String(cfg.closer.sessionSeconds * 1000),
      CLOSER_POLL_MS: String(cfg.closer.pollSeconds * 1000),
      RULE_CACHE_TTL_MS: String(cfg.closer.ruleCacheTtlMs),
    };
    const dispatcherEnv: Record<string, string> = { ...baseEnv, ALERT_TOPIC: cfg.dispatcher.alertTopic, ...kafkaEnv };
    checkFunctionEnv(ingestEnv, closerEnv, dispatcherEnv);

    const ingestLogs = this.logGroup('IngestLogs', cfg, removalPolicy);
    const closerLogs = this.logGroup('CloserLogs', cfg, removalPolicy);
    const ingestRole = this.functionRole('IngestRole', 'streamguard ingest: Kafka mappings -> windowed counters', ingestLogs);
    const closerRole = this.functionRole('CloserRole', 'streamguard closer: closes windows, evaluates rules, records alerts', closerLogs);
    const dispatcherLogs = this.logGroup('DispatcherLogs', cfg, removalPolicy);
    const dispatcherRole = this.functionRole('DispatcherRole', 'streamguard dispatcher: alerts table stream -> alert topic', dispatcherLogs);

    this.ingest = new NodejsFunction(this, 'Ingest', {
      ...common,
      entry: join(REPO_ROOT, 'functions/ingest.ts'),
      description: 'streamguard ingest: Kafka batches -> windowed counters in DynamoDB (exactly-once per partition offset)',
      role: ingestRole,
      logGroup: ingestLogs,
      memorySize: cfg.ingest.memorySize,
      timeout: Duration.seconds(cfg.ingest.timeoutSeconds),
      reservedConcurrentExecutions: cfg.ingest.reservedConcurrency,
      environment: ingestEnv,
    });

    if (cfg.runtime === 'nodejs22.x') acknowledgeRuntime(this.ingest);

    // The dispatcher produces to the brokers, and the closer reads the source backlog from them, so
    // both run where the brokers are reachable; ingest does not talk to them (the event source
    // mapping reaches the cluster itself), so it stays out of the VPC.
    const network = cfg.vpc ? this.network(cfg.vpc) : undefined;
    const closerNetwork = closerReadsBacklog ? network : undefined;
    this.closer = new NodejsFunction(this, 'Closer', {
      ...common,
      entry: join(REPO_ROOT, 'functions/close-windows.ts'),
      description: 'streamguard closer: closes due windows, evaluates rules, records alerts (the dispatcher sends them)',
      role: closerRole,
      logGroup: closerLogs,
      memorySize: cfg.closer.memorySize,
      timeout: Duration.seconds(cfg.closer.timeoutSeconds),
      reservedConcurrentExecutions: cfg.closer.reservedConcurrency,
      environment: closerEnv,
      ...(closerNetwork ? { vpc: closerNetwork.vpc, vpcSubnets: { subnets: closerNetwork.subnets }, securityGroups: closerNetwork.securityGroups } : {}),
    });
    if (cfg.runtime === 'nodejs22.x') acknowledgeRuntime(this.closer);
    this.dispatcher = new NodejsFunction(this, 'Dispatcher', {
      ...common,
      entry: join(REPO_ROOT, 'functions/dispatch-alerts.ts'),
      description: 'streamguard dispatcher: sends each new alert record (alerts table stream) to the alert topic, at least once',
      role: dispatcherRole,
      logGroup: dispatcherLogs,
      memorySize: cfg.dispatcher.memorySize,
      timeout: Duration.seconds(cfg.dispatcher.timeoutSeconds),
      reservedConcurrentExecutions: cfg.dispatcher.reservedConcurrency,
      environment: dispatcherEnv,
      ...(network ? { vpc: network.vpc, vpcSubnets: { subnets: network.subnets }, securityGroups: network.securityGroups } : {}),
    });
    if (cfg.runtime === 'nodejs22.x') acknowledgeRuntime(this.dispatcher);
    for (const [role, inVpc] of [
      [closerRole, closerNetwork !== undefined],
      [dispatcherRole, network !== undefined],
    ] as const) {
      if (!inVpc) continue;
      // With its own role, a VPC function does not get ENI permissions by itself.
      role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName(VPC_ACCESS_POLICY));
      Validations.of(role).acknowledge({
        id: managedPolicyFinding(VPC_ACCESS_POLICY),
        reason: 'Added by Lambda VPC placement: ENI create/describe/delete cannot be scoped to resources that do not exist yet.',
      });
    }

    // ---- Least-privilege data access: exactly the calls each function makes, on the table it makes
    // them on (test/e2e/iam-contract.test.ts records every call under the local runtime and checks
    // this list both ways: nothing called is missing, nothing granted is unused).
    const arns = (...tables: dynamodb.Table[]) => tables.map((x) => x.tableArn);
    const allow = (role: iam.Role, actions: string[], resources: string[]) => role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));
    // Window writes and partition watermark raises; each batch reads its partitions' marks in one BatchGetItem.
    allow(ingestRole, ['dynamodb:UpdateItem'], arns(t.windows, t.state));
    allow(ingestRole, ['dynamodb:BatchGetItem'], arns(t.state));
    allow(ingestRole, ['dynamodb:BatchWriteItem'], arns(t.sideOutput));
    // Early alerts: the rules (one Query of the state table per cache TTL) and a conditional put each.
    // ...and for a hopping pipeline, one consistent Query of the written key's buckets.
    allow(ingestRole, ['dynamodb:Query'], arns(t.state, t.windows));
    allow(ingestRole, ['dynamodb:PutItem'], arns(t.alerts));
    // Sequence rules: a batch's key states are read with BatchGetItem (granted above), each written
    // back conditional on its version, and a key that lost that race is read again with GetItem.
    allow(ingestRole, ['dynamodb:GetItem', 'dynamodb:PutItem'], arns(t.state));
    // The closer finds due windows through the index, and reads watermarks and rules from the state table.
    const dueIndexArns = windowsTable.indexes.map((ix) => `${t.windows.tableArn}/index/${ix.name}`);
    // A hopping pipeline's due bucket: one consistent Query of its key's buckets.
    allow(closerRole, ['dynamodb:Query'], [...arns(t.state, t.windows), ...dueIndexArns]);
    allow(closerRole, ['dynamodb:UpdateItem'], arns(t.windows, t.state));
    // A window is read (consistently) and judged before its one-write close.
    allow(closerRole, ['dynamodb:GetItem'], arns(t.windows));
    // A due page goes once every window it lists is settled (docs/design.md, "Due pages").
    allow(closerRole, ['dynamodb:DeleteItem'], arns(t.windows));
    // The record of a window set aside.
    allow(closerRole, ['dynamodb:PutItem'], arns(t.alerts));
    // An alert at close: one UpdateItem that creates the record or completes an early one.
    allow(closerRole, ['dynamodb:UpdateItem'], arns(t.alerts));

    // ---- Kafka: the dispatcher produces alerts; the closer only reads the mappings' backlog (MSK:
    // IAM auth, brokers looked up from the cluster). Self-managed Kafka with SCRAM: both read the
    // secret the mappings use (the ARN, not the credentials, is in their environment).
    const kafkaUsers = [dispatcherRole, ...(closerReadsBacklog ? [closerRole] : [])];
    for (const role of kafkaUsers) {
      if (!cluster && cfg.secretArn) allow(role, ['secretsmanager:GetSecretValue'], [cfg.secretArn]);
      if (cluster) {
        allow(role, ['kafka:GetBootstrapBrokers'], [cluster.arn]);
        allow(role, ['kafka-cluster:Connect'], [cluster.arn]);
      }
    }
    if (cluster) {
      allow(dispatcherRole, ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'], [topicArn(cluster, cfg.dispatcher.alertTopic)]);
      if (closerReadsBacklog) {
        // The backlog: log end offsets (ListOffsets) and the mappings' committed offsets (OffsetFetch).
        allow(closerRole, ['kafka-cluster:DescribeTopic'], mappings.map((m) => topicArn(cluster, m.topic)));
        allow(closerRole, ['kafka-cluster:DescribeGroup'], mappings.map((m) => groupArn(cluster, m.consumerGroupId)));
      }
    }

    // ---- The outbox: the alerts table's stream feeds the dispatcher. The mapping reads the stream
    // with the dispatcher's role (DescribeStream, GetShardIterator, GetRecords on the stream, and
    // ListStreams, granted by the event source) and hands batches it gives up on to this queue.
    this.alertFailureQueue = new sqs.Queue(this, 'AlertDeliveryFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.alertFailureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the on-failure destination of the alert stream mapping (descriptions of batches given up on); it has nowhere further to send.',
    });
    const stream = resolveAlertStream(cfg.dispatcher);
    this.dispatcher.addEventSource(
      new DynamoEventSource(t.alerts, {
        startingPosition: stream.startingPosition === 'LATEST' ? lambda.StartingPosition.LATEST : lambda.StartingPosition.TRIM_HORIZON,
        batchSize: stream.batchSize,
        maxBatchingWindow: Duration.seconds(stream.maxBatchingWindow),
        retryAttempts: stream.retryAttempts,
        // -1 (never) is AWS's default, and not a Duration.
        maxRecordAge: stream.maxRecordAge === -1 ? undefined : Duration.seconds(stream.maxRecordAge),
        bisectBatchOnError: stream.bisectBatchOnError,
        reportBatchItemFailures: stream.reportBatchItemFailures,
        parallelizationFactor: stream.parallelizationFactor,
        onFailure: new SqsDlq(this.alertFailureQueue),
        // Only alert INSERTs invoke the function (results, set-aside records, updates and TTL
        // deletions are dropped by the mapping); the dispatcher checks the same itself.
        filters: [
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.isEqual('INSERT'),
            dynamodb: { Keys: { pk: { S: lambda.FilterRule.beginsWith('alert#') }, sk: { S: lambda.FilterRule.isEqual('alert') } } },
          }),
        ],
      }),
    );
    Validations.of(dispatcherRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams, granted by the DynamoDB event source for its poller: it lists the account\'s streams and takes no resource; every other stream read is on the alerts table stream ARN.',
    });

    // ---- Event source mappings (off for LocalStack's free tier).
    this.failureQueue = undefined;
    if (cfg.eventSourceMappings) {
      let onFailure: lambda.IEventSourceDlq | undefined;
      if (cfg.onFailure.type === 'sqs') {
        this.failureQueue = new sqs.Queue(this, 'IngestFailures', {
          encryption: sqs.QueueEncryption.SQS_MANAGED,
          enforceSSL: true,
          retentionPeriod: Duration.days(14),
        });
        Validations.of(this.failureQueue).acknowledge({
          id: 'AwsSolutions-SQS3',
          reason: 'This queue is itself the on-failure destination of the Kafka event source mappings (metadata of records given up on); it has nowhere further to send.',
        });
        onFailure = new SqsDlq(this.failureQueue);
      } else if (cfg.onFailure.type === 'kafka') {
        onFailure = new KafkaDlq(cfg.onFailure.topic);
      }
      this.addMappings(cfg, mappings, cluster, onFailure, ingestRole);
    }

    // ---- Schedule: the closer every minute (by default). Overlapping runs are safe (conditional writes).
    this.schedule = new events.Rule(this, 'CloserSchedule', {
      description: 'streamguard: close windows the watermark has passed',
      schedule: events.Schedule.expression(cfg.closer.schedule),
      targets: [new targets.LambdaFunction(this.closer, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });

    addMonitoring(this, {
      ingest: this.ingest,
      closer: this.closer,
      dispatcher: this.dispatcher,
      alertFailureQueue: this.alertFailureQueue,
      pipelines: builtinPipelines.map((p) => p.name),
      closerTimeoutMs: cfg.closer.timeoutSeconds * 1000,
      alarms: cfg.alarms,
      failureQueue: this.failureQueue,
      mappings: cfg.eventSourceMappings,
    });

    new CfnOutput(this, 'WindowsTableName', { value: t.windows.tableName });
    new CfnOutput(this, 'StateTableName', { value: t.state.tableName, description: 'STATE_TABLE for `streamguard rules put`' });
    new CfnOutput(this, 'SideOutputTableName', { value: t.sideOutput.tableName });
    new CfnOutput(this, 'AlertsTableName', { value: t.alerts.tableName });
    new CfnOutput(this, 'IngestFunctionName', { value: this.ingest.functionName });
    new CfnOutput(this, 'CloserFunctionName', { value: this.closer.functionName });
    new CfnOutput(this, 'DispatcherFunctionName', { value: this.dispatcher.functionName });
    new CfnOutput(this, 'AlertDeliveryFailureQueueUrl', { value: this.alertFailureQueue.queueUrl, description: 'batches of alert records the dispatcher gave up on (README, runbook)' });
    if (this.failureQueue) new CfnOutput(this, 'IngestFailureQueueUrl', { value: this.failureQueue.queueUrl });
  }

  private table(def: TableDef, cfg: StackConfig, removalPolicy: RemovalPolicy): dynamodb.Table {
    const provisioned = cfg.tables.billing === 'provisioned';
    const capacity = provisioned ? { readCapacity: cfg.tables.readCapacity, writeCapacity: cfg.tables.writeCapacity } : {};
    const table = new dynamodb.Table(this, `${def.id.charAt(0).toUpperCase()}${def.id.slice(1)}Table`, {
      partitionKey: attribute(def.partitionKey),
      sortKey: attribute(def.sortKey),
      billingMode: provisioned ? dynamodb.BillingMode.PROVISIONED : dynamodb.BillingMode.PAY_PER_REQUEST,
      ...capacity,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: cfg.tables.pointInTimeRecovery },
      timeToLiveAttribute: def.ttlAttribute,
      stream: def.stream === 'NEW_IMAGE' ? dynamodb.StreamViewType.NEW_IMAGE : undefined,
      deletionProtection: cfg.tables.deletionProtection,
      removalPolicy,
    });
    for (const ix of def.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: ix.name,
        partitionKey: attribute(ix.partitionKey),
        sortKey: attribute(ix.sortKey),
        ...(ix.include.length > 0
          ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: ix.include }
          : { projectionType: dynamodb.ProjectionType.KEYS_ONLY }),
        ...capacity,
      });
    }
    if (!cfg.tables.pointInTimeRecovery) {
      Validations.of(table).acknowledge({ id: 'AwsSolutions-DDB3', reason: 'Point-in-time recovery turned off by configuration (tables.pointInTimeRecovery=false).' });
    }
    return table;
  }

  private logGroup(id: string, cfg: StackConfig, removalPolicy: RemovalPolicy): logs.LogGroup {
    return new logs.LogGroup(this, id, { retention: retentionDays(cfg.logRetentionDays), removalPolicy });
  }

  /** A role that can write its own log group and nothing else until granted. */
  private functionRole(id: string, description: string, logGroup: logs.LogGroup): iam.Role {
    const role = new iam.Role(this, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description });
    logGroup.grantWrite(role);
    return role;
  }

  /** VPC, subnets and security groups imported by id: no lookups, so synth stays offline. */
  private network(v: NonNullable<StackConfig['vpc']>) {
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: v.vpcId, availabilityZones: this.availabilityZones });
    const subnets = v.subnetIds.map((id, i) => importSubnet(this, `Subnet${i}`, id));
    const securityGroups = v.securityGroupIds.map((id, i) => ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, id, { mutable: false }));
    if (v.routeTableIds?.length) {
      // The closer reaches DynamoDB without a NAT gateway.
      new ec2.CfnVPCEndpoint(this, 'DynamoDbEndpoint', {
        vpcId: v.vpcId,
        serviceName: `com.amazonaws.${this.region}.dynamodb`,
        vpcEndpointType: 'Gateway',
        routeTableIds: v.routeTableIds,
      });
    }
    return { vpc, subnets, securityGroups };
  }

  private addMappings(cfg: StackConfig, mappings: ResolvedMapping[], cluster: MskCluster | undefined, onFailure: lambda.IEventSourceDlq | undefined, role: iam.Role): void {
    const secret = cfg.secretArn ? secretsmanager.Secret.fromSecretCompleteArn(this, 'KafkaSecret', cfg.secretArn) : undefined;
    const network = cfg.vpc && !cluster ? this.mappingNetwork(cfg.vpc) : undefined;
    for (const m of mappings) {
      const props: KafkaEventSourceProps = {
        topic: m.topic,
        batchSize: m.batchSize,
        // Unset stays unset: CDK then leaves MaximumBatchingWindowInSeconds out and AWS waits its
        // 500 ms default, which no whole-second value can say.
        maxBatchingWindow: m.maxBatchingWindow === undefined ? undefined : Duration.seconds(m.maxBatchingWindow),
        startingPosition: m.startingPosition === 'LATEST' ? lambda.StartingPosition.LATEST : lambda.StartingPosition.TRIM_HORIZON,
        consumerGroupId: m.consumerGroupId,
        // AWS's defaults are left out of the template: an on-demand mapping takes none of the four
        // error controls (config.ts rejects other values without a provisioned poller config).
        retryAttempts: m.retryAttempts === -1 ? undefined : m.retryAttempts,
        // -1 (never) is AWS's default, and not a Duration.
        maxRecordAge: m.maxRecordAge === -1 ? undefined : Duration.seconds(m.maxRecordAge),
        bisectBatchOnError: m.bisectBatchOnError ? true : undefined,
        reportBatchItemFailures: m.reportBatchItemFailures,
        onFailure,
        provisionedPollerConfig: m.provisionedPollerConfig,
        enabled: m.enabled,
        secret,
      };
      this.ingest.addEventSource(
        cluster
          ? new ManagedKafkaEventSource({ ...props, clusterArn: cluster.arn })
          : new SelfManagedKafkaEventSource({
              ...props,
              bootstrapServers: cfg.bootstrapServers!,
              authenticationMethod: secret ? AuthenticationMethod.SASL_SCRAM_512_AUTH : undefined,
              ...(network ?? {}),
            }),
      );
    }

    if (cluster) {
      Validations.of(role).acknowledge({
        id: managedPolicyFinding(MSK_EXECUTION_POLICY),
        reason:
          'Added by CDK ManagedKafkaEventSource: the MSK event source mapping creates ENIs in the cluster VPC and describes the cluster with the function role; those EC2 actions cannot be scoped.',
      });
      if (!secret) {
        // IAM access control: the mapping's consumer uses the function role.
        const allow = (actions: string[], resources: string[]) => role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));
        allow(['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration'], [cluster.arn]);
        allow(['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'], mappings.map((m) => topicArn(cluster, m.topic)));
        allow(['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'], mappings.map((m) => groupArn(cluster, m.consumerGroupId)));
        if (cfg.onFailure.type === 'kafka') allow(['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'], [topicArn(cluster, cfg.onFailure.topic)]);
      }
    } else if (network) {
      // Self-managed Kafka in a VPC: the mapping's pollers attach ENIs with the function role.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DeleteNetworkInterface',
            'ec2:DescribeVpcs',
            'ec2:DescribeSubnets',
            'ec2:DescribeSecurityGroups',
          ],
          resources: ['*'],
        }),
      );
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'EC2 network-interface actions for the self-managed Kafka mapping in a VPC; EC2 Describe* and ENI creation take no resource scoping.',
      });
    }
  }

  private mappingNetwork(v: NonNullable<StackConfig['vpc']>) {
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'MappingVpc', { vpcId: v.vpcId, availabilityZones: this.availabilityZones });
    return {
      vpc,
      vpcSubnets: { subnets: v.subnetIds.map((id, i) => importSubnet(this, `MappingSubnet${i}`, id)) },
      // The CDK construct takes one security group for the mapping.
      securityGroup: ec2.SecurityGroup.fromSecurityGroupId(this, 'MappingSecurityGroup', v.securityGroupIds[0]!, { mutable: false }),
    };
  }
}

/** A subnet by id; its route table is not needed (Lambda placement only), so that warning is acknowledged. */
function importSubnet(scope: Construct, id: string, subnetId: string): ec2.ISubnet {
  const subnet = ec2.Subnet.fromSubnetId(scope, id, subnetId);
  Validations.of(subnet).acknowledge({
    id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
    reason: 'Subnets are imported for Lambda / event source mapping placement only; their route tables are never read.',
  });
  return subnet;
}

function attribute(k: KeyDef): dynamodb.Attribute {
  return { name: k.name, type: k.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER };
}

/** nodejs22.x is a supported runtime (the project's default); cdk-nag L1 wants the newest family. */
function acknowledgeRuntime(fn: lambda.Function): void {
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason: 'nodejs22.x is a supported, non-deprecated Lambda runtime and the version the code is built and tested for; set runtime=nodejs24.x in the stack config to move to the newest.',
  });
}

/** The nearest CloudWatch Logs retention at or above the requested number of days. */
function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number' && v > 0).sort((a, b) => a - b);
  return (allowed.find((d) => d >= days) ?? logs.RetentionDays.TEN_YEARS) as logs.RetentionDays;
}

/**
 * The environment each function gets must satisfy the loader that function runs at init; check it
 * at synth (table names are tokens here, so stand-ins are used) rather than at the first invocation.
 */
function checkFunctionEnv(ingestEnv: Record<string, string>, closerEnv: Record<string, string>, dispatcherEnv: Record<string, string>): void {
  const stand = (env: Record<string, string>) =>
    Object.fromEntries(Object.entries(env).map(([k, v]) => [k, (Object.values(TABLE_ENV) as string[]).includes(k) ? 'table-name' : v]));
  try {
    loadIngestConfig(stand(ingestEnv));
    loadCloserConfig(stand(closerEnv));
    loadDispatcherConfig(stand(dispatcherEnv));
  } catch (err) {
    if (err instanceof ConfigError) throw new StackConfigError(`the stack would misconfigure a function: ${err.message}`);
    throw err;
  }
}
