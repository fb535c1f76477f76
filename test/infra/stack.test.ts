/**
 * The CDK stack, synthesized offline (no credentials, no Docker). The main stack is synthesized once,
 * with real esbuild bundling; variants skip bundling (context aws:cdk:bundling-stacks = []).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { alertStreamMapping, defaultMappings } from '../../lib/config/deployment.ts';
import { loadIngestConfig } from '../../lib/config/ingest-config.ts';
import { allTables, windowsTable } from '../../lib/store/tables.ts';
import { alertStreamProblems, loadStackConfig, parseStackConfig, StackConfigError, type StackConfigInput } from '../../infra/config.ts';
import { REPO_ROOT, StreamGuardStack } from '../../infra/streamguard-stack.ts';

const CLUSTER_ARN = 'arn:aws:kafka:eu-west-1:123456789012:cluster/streamguard/0f3a1c2e-1b2c-4d5e-8f90-123456789abc-2';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:streamguard/kafka-AbCdEf';
const VPC = { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'], securityGroupIds: ['sg-0123456789abcdef0'] };

function synth(input: StackConfigInput, bundle = false) {
  const app = new App({ context: bundle ? {} : { 'aws:cdk:bundling-stacks': [] } });
  const config = parseStackConfig(input);
  const stack = new StreamGuardStack(app, config.stackName, { config });
  return { app, stack, template: Template.fromStack(stack) };
}

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
function statements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

function nagViolations(stack: Stack): string[] {
  const report = new AwsSolutionsChecks(stack).validateScope(stack);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.resourceLogicalId}: ${v.description}`));
}

describe('StreamGuard stack (MSK)', () => {
  let app: App;
  let stack: StreamGuardStack;
  let template: Template;

  beforeAll(() => {
    ({ app, stack, template } = synth({ mskClusterArn: CLUSTER_ARN, vpc: VPC }, true));
  });

  it('maps each default topic with its Kafka settings', () => {
    const mappings = Object.fromEntries(Object.entries(template.findResources('AWS::Lambda::EventSourceMapping')).filter(([, m]) => m.Properties.Topics));
    expect(Object.keys(mappings)).toHaveLength(defaultMappings.length);
    const byTopic = new Map(Object.values(mappings).map((m) => [m.Properties.Topics[0] as string, m.Properties]));
    expect([...byTopic.keys()].sort()).toEqual(['iot_telemetry', 'user_events', 'user_registrations']);
    for (const d of defaultMappings) {
      const p = byTopic.get(d.topic)!;
      expect(p).toMatchObject({
        EventSourceArn: CLUSTER_ARN,
        Topics: [d.topic],
        BatchSize: d.batchSize,
        StartingPosition: d.startingPosition,
        AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: `StreamGuard-${d.topic}` },
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/^IngestFailures/), 'Arn'] } } },
      });
      // No batching window given: the property is left out, so AWS waits its 500 ms default (a
      // whole-second value could not say it, and once set AWS cannot return to it).
      expect(d.maxBatchingWindow).toBeUndefined();
      expect(p).not.toHaveProperty('MaximumBatchingWindowInSeconds');
      // On-demand mode (no poller config): none of the error controls AWS reserves for provisioned
      // mode; AWS's defaults retry a failed batch until it succeeds (10 times with a destination).
      expect(p.ProvisionedPollerConfig).toBeUndefined();
      for (const control of ['MaximumRetryAttempts', 'MaximumRecordAgeInSeconds', 'BisectBatchOnFunctionError', 'FunctionResponseTypes']) {
        expect(p[control], control).toBeUndefined();
      }
    }
    // So the function fails a batch it could not fully apply instead of answering with resume points.
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ SIDE_OUTPUT_TABLE: Match.anyValue(), REPORT_BATCH_ITEM_FAILURES: 'false' }) } });
    // The ingest failures and the alert delivery failures.
    template.resourceCountIs('AWS::SQS::Queue', 2);
  });

  it('feeds the dispatcher from the alerts table stream (NEW_IMAGE): alert INSERTs only, bounded retries, bisect, partial responses, SQS on failure', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: 'NEW_IMAGE' }, KeySchema: Match.anyValue() });
    const streamTables = Object.entries(template.findResources('AWS::DynamoDB::Table')).filter(([, t]) => t.Properties.StreamSpecification);
    expect(streamTables.map(([id]) => id)).toEqual([expect.stringMatching(/^AlertsTable/)]);
    const [mapping, ...others] = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).filter((m) => !m.Properties.Topics);
    expect(others).toEqual([]);
    expect(mapping!.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [expect.stringMatching(/^AlertsTable/), 'StreamArn'] },
      FunctionName: { Ref: expect.stringMatching(/^Dispatcher/) },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: alertStreamMapping.batchSize,
      MaximumRetryAttempts: alertStreamMapping.retryAttempts,
      MaximumRecordAgeInSeconds: alertStreamMapping.maxRecordAge,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ParallelizationFactor: 1,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/^AlertDeliveryFailures/), 'Arn'] } } },
    });
    const filter = JSON.parse(mapping!.Properties.FilterCriteria.Filters[0].Pattern);
    expect(filter).toEqual({ eventName: ['INSERT'], dynamodb: { Keys: { pk: { S: [{ prefix: 'alert#' }] }, sk: { S: ['alert'] } } } });
    // The dispatcher alone produces alerts: it runs in the VPC with the topic and cluster grants.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ALERT_TOPIC: 'fraud_alerts', MSK_CLUSTER_ARN: CLUSTER_ARN }) },
      VpcConfig: { SubnetIds: VPC.subnetIds, SecurityGroupIds: VPC.securityGroupIds },
      Role: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DispatcherRole'), 'Arn'] },
    });
    const byRole = (prefix: string) =>
      Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref.startsWith(prefix)))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    const actionsOf = (prefix: string) => new Set(byRole(prefix).flatMap((st) => list(st.Action)));
    expect(actionsOf('DispatcherRole')).toContain('kafka-cluster:WriteData');
    for (const a of ['dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeStream', 'dynamodb:ListStreams']) expect(actionsOf('DispatcherRole'), a).toContain(a);
    // The closer keeps read-only Kafka (the source backlog) and writes no topic.
    expect(actionsOf('CloserRole')).not.toContain('kafka-cluster:WriteData');
    expect(actionsOf('CloserRole')).toContain('kafka-cluster:DescribeGroup');
  });

  it('schedules the closer at rate(1 minute)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Closer'), 'Arn'] } })],
    });
  });

  it('builds the tables from lib/store/tables.ts: keys, TTL, the sparse due index, PITR, on-demand, retained', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(allTables.length);
    for (const def of allTables) {
      const [, t] = Object.entries(tables).find(([id]) => id.toLowerCase().startsWith(`${def.id.toLowerCase()}table`))!;
      expect(t.DeletionPolicy).toBe('Retain');
      expect(t.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        KeySchema: [
          { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: def.sortKey.name, KeyType: 'RANGE' },
        ],
      });
      if (def.ttlAttribute) expect(t.Properties.TimeToLiveSpecification).toEqual({ AttributeName: def.ttlAttribute, Enabled: true });
      else expect(t.Properties.TimeToLiveSpecification).toBeUndefined();
    }
    const due = windowsTable.indexes[0]!;
    expect(due.name).toBe('due');
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: 'due',
          KeySchema: [
            { AttributeName: due.partitionKey.name, KeyType: 'HASH' },
            { AttributeName: due.sortKey.name, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    });
  });

  it('bundles each function with the Lambda credential chain in place of the SDK default chain (infra/bundling.ts alias)', () => {
    const fns = Object.entries(template.findResources('AWS::Lambda::Function'));
    expect(fns).toHaveLength(3);
    for (const [id, f] of fns) {
      const key = f.Properties.Code.S3Key as string;
      const code = readFileSync(join(app.outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs'), 'utf8');
      // lib/aws/lambda-credentials.ts's error, and credential-provider-node's own warning and debug
      // line (booleans: a failure should not print the bundle).
      expect(code.includes('no AWS credentials in this Lambda environment'), `${id}: our chain in the bundle`).toBe(true);
      expect(code.includes('Multiple credential sources detected'), `${id}: the SDK default chain in the bundle`).toBe(false);
      expect(code.includes('defaultProvider::fromIni'), `${id}: the SDK default chain in the bundle`).toBe(false);
    }
  });

  it('runs the three functions on nodejs22.x or newer, arm64, bundled as ESM, with their environment', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(fns).toHaveLength(3);
    for (const f of fns) {
      const major = Number(/^nodejs(\d+)\.x$/.exec(f.Properties.Runtime)?.[1]);
      expect(major).toBeGreaterThanOrEqual(22);
      expect(f.Properties.Architectures).toEqual(['arm64']);
      expect(f.Properties.Handler).toBe('index.handler');
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          WINDOWS_TABLE: { Ref: Match.stringLikeRegexp('^WindowsTable') },
          STATE_TABLE: { Ref: Match.stringLikeRegexp('^StateTable') },
          SIDE_OUTPUT_TABLE: { Ref: Match.stringLikeRegexp('^SideOutputTable') },
          MAX_RECORD_BYTES: '65536',
          MAX_EVENT_AHEAD_MS: '300000',
          RETENTION_DAYS: '7',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          ALERTS_TABLE: { Ref: Match.stringLikeRegexp('^AlertsTable') },
          MSK_CLUSTER_ARN: CLUSTER_ARN,
          SOURCE_CONSUMER_GROUPS: Match.stringLikeRegexp('user_events=StreamGuard-user_events'),
          WATERMARK_DELAY_MS: '600000',
          WATERMARK_POLICY: 'min',
          RULE_CACHE_TTL_MS: '30000',
        }),
      },
      VpcConfig: { SubnetIds: VPC.subnetIds, SecurityGroupIds: VPC.securityGroupIds },
    });
  });

  it('grants no DynamoDB or Kafka data action on a wildcard resource', () => {
    const all = statements(template);
    expect(all.length).toBeGreaterThan(0);
    const data = all.filter((s) => list(s.Action).some((a) => /^(dynamodb|kafka-cluster|kafka):/.test(a)));
    expect(data.length).toBeGreaterThan(0);
    for (const s of data) {
      expect(list(s.Action).every((a) => !a.includes('*')), JSON.stringify(s.Action)).toBe(true);
      // ListStreams lists the account's streams and takes no resource (CDK grants it on "*").
      if (list(s.Action).every((a) => a === 'dynamodb:ListStreams')) continue;
      for (const r of list(s.Resource)) expect(JSON.stringify(r), `${JSON.stringify(s.Action)} on ${JSON.stringify(r)}`).not.toContain('*');
    }
    const actions = new Set(data.flatMap((s) => list(s.Action)));
    for (const a of ['kafka-cluster:Connect', 'kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup', 'kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData', 'kafka-cluster:WriteData', 'kafka-cluster:DescribeClusterDynamicConfiguration', 'kafka:GetBootstrapBrokers']) {
      expect(actions, a).toContain(a);
    }
    // Topic and group ARNs are the cluster's own.
    const kafkaResources = data.filter((s) => list(s.Action).some((a) => a.startsWith('kafka-cluster:'))).flatMap((s) => list(s.Resource)) as string[];
    expect(kafkaResources).toContain('arn:aws:kafka:eu-west-1:123456789012:topic/streamguard/0f3a1c2e-1b2c-4d5e-8f90-123456789abc-2/user_events');
    expect(kafkaResources).toContain('arn:aws:kafka:eu-west-1:123456789012:topic/streamguard/0f3a1c2e-1b2c-4d5e-8f90-123456789abc-2/fraud_alerts');
    expect(kafkaResources).toContain('arn:aws:kafka:eu-west-1:123456789012:group/streamguard/0f3a1c2e-1b2c-4d5e-8f90-123456789abc-2/StreamGuard-user_events');
    // The closer may query the due index, by name.
    expect(JSON.stringify(data)).toContain('/index/due');
  });

  it('has alarms for errors, OffsetLag, throttles, quarantined and late events, closer duration, windows set aside, alerts fired; and a dashboard', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Lambda', MetricName: 'OffsetLag', Statistic: 'Maximum' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Lambda', MetricName: 'Errors' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Lambda', MetricName: 'Throttles' });
    for (const [service, name] of [['ingest', 'Quarantined'], ['ingest', 'LateEvents'], ['closer', 'CloserDuration']]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'streamguard', MetricName: name, Dimensions: [{ Name: 'service', Value: service }] });
    }
    // One window set aside is enough to alarm: it has no result or alerts until an operator looks.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'streamguard',
      MetricName: 'WindowsSetAside',
      Dimensions: [{ Name: 'service', Value: 'closer' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'AlertsFired_payments', Namespace: 'streamguard' }) }) })]),
    });
    // The outbox: alerts waiting in the stream, dispatcher errors, batches given up on.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Lambda', MetricName: 'IteratorAge', Statistic: 'Maximum', Threshold: 60_000, Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^Dispatcher') } }] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^Dispatcher') } }] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlertDeliveryFailures'), 'QueueName'] } }],
    });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('passes cdk-nag AwsSolutions with every finding acknowledged with a reason', () => {
    expect(nagViolations(stack)).toEqual([]);
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findError('*', Match.stringLikeRegexp('AwsSolutions'))).toEqual([]);
    expect(annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions'))).toEqual([]);
  });

  it('synthesizes environment-agnostic (no account or region resolved at synth)', () => {
    expect(stack.account).toMatch(/^\$\{Token/);
    expect(stack.region).toMatch(/^\$\{Token/);
  });
});

describe('StreamGuard stack variants', () => {
  it('self-managed Kafka: SASL/SCRAM secret, bootstrap servers, closer KAFKA_BROKERS, a Kafka on-failure topic', () => {
    const { stack, template } = synth({
      bootstrapServers: 'b-1.example.com:9096,b-2.example.com:9096',
      secretArn: SECRET_ARN,
      onFailure: { type: 'kafka', topic: 'streamguard_ingest_failures' },
      mappings: [
        {
          topic: 'user_events',
          batchSize: 250,
          startingPosition: 'LATEST',
          retryAttempts: 3,
          maxRecordAge: 3600,
          bisectBatchOnError: true,
          reportBatchItemFailures: true,
          provisionedPollerConfig: { minimumPollers: 1, maximumPollers: 5, pollerGroupName: 'streamguard' },
        },
      ],
    });
    // The Kafka mapping and the alert stream's.
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      Topics: ['user_events'],
      BatchSize: 250,
      StartingPosition: 'LATEST',
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      SelfManagedEventSource: { Endpoints: { KafkaBootstrapServers: ['b-1.example.com:9096', 'b-2.example.com:9096'] } },
      SourceAccessConfigurations: [{ Type: 'SASL_SCRAM_512_AUTH', URI: SECRET_ARN }],
      DestinationConfig: { OnFailure: { Destination: 'kafka://streamguard_ingest_failures' } },
      ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 5, PollerGroupName: 'streamguard' },
      SelfManagedKafkaEventSourceConfig: { ConsumerGroupId: 'StreamGuard-user_events' },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ KAFKA_BROKERS: 'b-1.example.com:9096,b-2.example.com:9096', KAFKA_SECRET_ARN: SECRET_ARN }) },
    });
    // Every mapping honours partial batch responses, so the function may answer with them.
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ REPORT_BATCH_ITEM_FAILURES: 'true' }) } });
    // The mapping (ingest's role), the closer (backlog) and the dispatcher (alerts) read the SCRAM secret, and only that secret.
    expect(statements(template).filter((st) => list(st.Action).includes('secretsmanager:GetSecretValue')).map((st) => st.Resource)).toEqual([SECRET_ARN, SECRET_ARN, SECRET_ARN]);
    // Only the alert delivery failures: ingest's go to a Kafka topic here.
    template.resourceCountIs('AWS::SQS::Queue', 1);
    for (const s of statements(template)) {
      if (list(s.Action).every((a) => a === 'dynamodb:ListStreams')) continue;
      if (list(s.Action).some((a) => /^(dynamodb|kafka-cluster|kafka):/.test(a))) for (const r of list(s.Resource)) expect(JSON.stringify(r)).not.toContain('*');
    }
    expect(nagViolations(stack)).toEqual([]);
  });

  it('LocalStack free tier: eventSourceMappings=false deploys tables, functions, the schedule and the alert stream mapping only', () => {
    const { stack, template } = synth(loadStackConfig({ config: 'infra/config.localstack.json' }, REPO_ROOT));
    // No Kafka mapping; the DynamoDB stream mapping is in LocalStack's free tier.
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlertsTable'), 'StreamArn'] } });
    template.resourceCountIs('AWS::SQS::Queue', 1);
    template.resourceCountIs('AWS::DynamoDB::Table', 4);
    template.resourceCountIs('AWS::Lambda::Function', 3);
    // Without mappings there is no backlog to read: the closer needs no Kafka at all.
    const closer = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment.Variables.CLOSER_CONCURRENCY)!;
    expect(closer.Properties.Environment.Variables.KAFKA_BROKERS).toBeUndefined();
    expect(closer.Properties.VpcConfig).toBeUndefined();
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    expect(JSON.stringify(template.toJSON())).not.toContain('kafka-cluster:');
    expect(nagViolations(stack)).toEqual([]);
  });

  it('provisioned billing, a custom schedule and RETAIN overridden by context keys', () => {
    const config = loadStackConfig(
      {
        config: 'infra/config.example.json',
        'tables.billing': 'provisioned',
        'tables.readCapacity': '10',
        'closer.schedule': 'rate(5 minutes)',
        removalPolicy: 'destroy',
        'aws:cdk:bundling-stacks': [],
      },
      REPO_ROOT,
    );
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const template = Template.fromStack(new StreamGuardStack(app, 'S', { config }));
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: Match.absent(),
      ProvisionedThroughput: { ReadCapacityUnits: 10, WriteCapacityUnits: 5 },
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'due', ProvisionedThroughput: { ReadCapacityUnits: 10, WriteCapacityUnits: 5 } })],
    });
    template.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });
});

describe('StreamGuard stack misconfiguration', () => {
  it('bundles the AWS SDK unless told not to, and takes only a boolean for it', () => {
    expect(parseStackConfig({ mskClusterArn: CLUSTER_ARN }).bundleAwsSdk).toBe(true);
    expect(parseStackConfig({ mskClusterArn: CLUSTER_ARN, bundleAwsSdk: false }).bundleAwsSdk).toBe(false);
    expect(() => parseStackConfig({ mskClusterArn: CLUSTER_ARN, bundleAwsSdk: 'no' } as unknown as StackConfigInput)).toThrow(/bundleAwsSdk/);
  });

  it('without a cluster ARN or bootstrap servers, synth throws naming what to set', () => {
    expect(() => loadStackConfig({})).toThrow(StackConfigError);
    expect(() => loadStackConfig({})).toThrow(/mskClusterArn.*bootstrapServers\+secretArn/s);
  });

  it('a batching window set in whole seconds (0 included) is written out; a fraction or beyond 300 s fails synth naming the field', () => {
    const { template } = synth({
      mskClusterArn: CLUSTER_ARN,
      mappings: [{ topic: 'user_events', maxBatchingWindow: 0 }, { topic: 'iot_telemetry', maxBatchingWindow: 2 }, { topic: 'user_registrations' }],
    });
    const byTopic = new Map(
      Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))
        .filter((m) => m.Properties.Topics)
        .map((m) => [m.Properties.Topics[0] as string, m.Properties as Record<string, unknown>]),
    );
    expect(byTopic.get('user_events')).toHaveProperty('MaximumBatchingWindowInSeconds', 0);
    expect(byTopic.get('iot_telemetry')).toHaveProperty('MaximumBatchingWindowInSeconds', 2);
    expect(byTopic.get('user_registrations')).not.toHaveProperty('MaximumBatchingWindowInSeconds');
    const message = (maxBatchingWindow: number) => {
      try {
        parseStackConfig({ mskClusterArn: CLUSTER_ARN, mappings: [{ topic: 'user_events', maxBatchingWindow }] });
      } catch (err) {
        expect(err).toBeInstanceOf(StackConfigError);
        return (err as Error).message;
      }
      return '';
    };
    expect(message(0.5)).toMatch(/mappings\.0\.maxBatchingWindow: must be whole seconds in AWS/);
    expect(message(301)).toMatch(/mappings\.0\.maxBatchingWindow/);
    expect(message(-1)).toMatch(/mappings\.0\.maxBatchingWindow/);
  });

  it('ingest writes with the same concurrency locally as the stack deploys', () => {
    const { template } = synth({ mskClusterArn: CLUSTER_ARN });
    const set = Object.values(template.findResources('AWS::Lambda::Function')).flatMap((f) => f.Properties.Environment?.Variables?.WRITE_CONCURRENCY ?? []);
    expect(set).toHaveLength(1);
    const deployed = Number(set[0]);
    // The local runtime sets no WRITE_CONCURRENCY (local/runtime/functions.ts): ingest takes its own default.
    const local = loadIngestConfig({ WINDOWS_TABLE: 'windows', STATE_TABLE: 'state', SIDE_OUTPUT_TABLE: 'side-output' }).writeConcurrency;
    expect(deployed).toBe(local);
  });

  it('names every invalid property', () => {
    let message = '';
    try {
      parseStackConfig({ mskClusterArn: 'arn:aws:kafka:eu-west-1:1:cluster/x', mappings: [{ topic: 'user events', batchSize: 20_000 }], closer: { schedule: 'every minute' } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/mskClusterArn: must be an MSK cluster ARN/);
    expect(message).toMatch(/mappings\.0\.topic/);
    expect(message).toMatch(/mappings\.0\.batchSize/);
    expect(message).toMatch(/closer\.schedule: must be an EventBridge schedule/);
  });

  it('error-handling controls without provisioned mode (AWS refuses them) fail synth, naming what to set', () => {
    let message = '';
    try {
      parseStackConfig({ mskClusterArn: CLUSTER_ARN, mappings: [{ topic: 'user_events' }, { topic: 'iot_telemetry', retryAttempts: 10, reportBatchItemFailures: true }] });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/mappings\.1 \(iot_telemetry\): retryAttempts=10, reportBatchItemFailures=true are error-handling controls AWS accepts only in provisioned mode/);
    expect(message).toMatch(/set mappings\.1\.provisionedPollerConfig/);
    // ...and one function answers every mapping: partial responses on for some only would lose records.
    expect(message).toMatch(/reportBatchItemFailures must be the same on every mapping/);
    expect(message).not.toMatch(/mappings\.0 \(/);
    for (const control of [{ maxRecordAge: 3600 }, { bisectBatchOnError: true }]) {
      expect(() => parseStackConfig({ mskClusterArn: CLUSTER_ARN, mappings: [{ topic: 'user_events', ...control }] })).toThrow(/provisionedPollerConfig/);
    }
    // With a poller config they synthesize; without mappings they do not matter.
    expect(() => parseStackConfig({ mskClusterArn: CLUSTER_ARN, mappings: [{ topic: 'user_events', retryAttempts: 10, provisionedPollerConfig: { minimumPollers: 1, maximumPollers: 2 } }] })).not.toThrow();
    expect(() => parseStackConfig({ mskClusterArn: CLUSTER_ARN, eventSourceMappings: false, mappings: [{ topic: 'user_events', retryAttempts: 10 }] })).not.toThrow();
  });

  it("the alert stream mapping: settings that would lose alerts or never reach the queue fail synth, by AWS's documented rules", () => {
    const base = { mskClusterArn: CLUSTER_ARN };
    const message = (dispatcher: StackConfigInput['dispatcher']) => {
      try {
        parseStackConfig({ ...base, dispatcher });
      } catch (err) {
        expect(err).toBeInstanceOf(StackConfigError);
        return (err as Error).message;
      }
      return '';
    };
    expect(message({ reportBatchItemFailures: false })).toMatch(/dispatcher\.reportBatchItemFailures: must be true/);
    expect(message({ retryAttempts: -1, maxRecordAge: -1 })).toMatch(/dispatcher\.retryAttempts \/ dispatcher\.maxRecordAge: set at least one/);
    expect(message({ maxRecordAge: 172_800 })).toMatch(/dispatcher\.maxRecordAge: 172800 s is beyond a DynamoDB stream's 86400 s retention/);
    // AWS's ranges, from the emulator's schema: MaximumRecordAgeInSeconds -1 or 60-604800, ParallelizationFactor 1-10, BatchSize up to 10,000.
    expect(message({ maxRecordAge: 30 })).toMatch(/dispatcher\.maxRecordAge: must be -1 \(never\) or 60-604800/);
    expect(message({ parallelizationFactor: 11 })).toMatch(/dispatcher\.parallelizationFactor/);
    expect(message({ batchSize: 10_001 })).toMatch(/dispatcher\.batchSize/);
    expect(message({ maxBatchingWindow: 301 })).toMatch(/dispatcher\.maxBatchingWindow/);
    // Retries bounded by age alone are accepted, as are the defaults.
    expect(message({ retryAttempts: -1, maxRecordAge: 3_600 })).toBe('');
    expect(alertStreamProblems(alertStreamMapping)).toEqual([]);
  });

  it('a closer session must fit its timeout and its schedule', () => {
    const closer = (c: Record<string, unknown>) => () => parseStackConfig({ mskClusterArn: CLUSTER_ARN, closer: c });
    expect(closer({})).not.toThrow();
    expect(parseStackConfig({ mskClusterArn: CLUSTER_ARN }).closer).toMatchObject({ sessionSeconds: 50, pollSeconds: 5, timeoutSeconds: 60 });
    expect(closer({ sessionSeconds: 55 })).toThrow(/closer\.sessionSeconds.*leave 10 s of closer\.timeoutSeconds \(60\)/s);
    expect(closer({ sessionSeconds: 55, timeoutSeconds: 70 })).not.toThrow();
    expect(closer({ sessionSeconds: 60, timeoutSeconds: 90 })).toThrow(/shorter than the schedule's interval \(60 s/);
    expect(closer({ sessionSeconds: 100, timeoutSeconds: 120, schedule: 'rate(2 minutes)' })).not.toThrow();
    expect(closer({ sessionSeconds: 4, pollSeconds: 5 })).toThrow(/closer\.pollSeconds/);
    expect(closer({ sessionSeconds: 0, pollSeconds: 30 })).not.toThrow();
  });

  it('self-managed Kafka needs its secret', () => {
    expect(() => parseStackConfig({ bootstrapServers: ['b-1:9096'] })).toThrow(/secretArn/);
    expect(() => parseStackConfig({ mskClusterArn: CLUSTER_ARN, bootstrapServers: ['b-1:9096'] })).toThrow(/not both/);
  });

  it('the CDK app exits with that message (what `cdk synth` prints)', () => {
    const out = spawnSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: '{}' },
      timeout: 30_000,
    });
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/set context mskClusterArn \(Amazon MSK\) or bootstrapServers\+secretArn/);
  });
});
