/**
 * The IAM contract, checked both ways. DynamoDB Local and the mock broker check no permissions, so
 * a missing grant passes every other local test and fails every batch in AWS (the ingest role once
 * lacked dynamodb:BatchGetItem). Here the three functions run a generated scenario in the local
 * runtime with every AWS call recorded (test/support/aws-calls.ts): each DynamoDB call on its table
 * or index, the alert stream mapping's reads of the alerts table's stream (the dispatcher's role),
 * each Kafka request as the MSK IAM action it needs, the closer's and the dispatcher's MSK and
 * Secrets Manager lookups. Then the synthesized template must grant each of them on that resource, and grant no
 * data action that nothing calls, except the few that AWS's pollers use with the function role and
 * that no local component performs (ALLOWED_UNRECORDED, each with its reason).
 */
import { randomUUID } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveMapping, parseStackConfig, type StackConfigInput } from '../../infra/config.ts';
import { StreamGuardStack } from '../../infra/streamguard-stack.ts';
import { kafkaFor } from '../../lib/sinks/msk.ts';
import { generate } from '../../local/generator/generate.ts';
import { produceRecords } from '../../local/generator/produce.ts';
import { startRuntime, type LocalRuntime } from '../../local/runtime/runtime.ts';
import { dueShardOf } from '../../lib/store/tables.ts';
import { callKey, grantedCalls, startRecorder, type Call, type Recorder } from '../support/aws-calls.ts';
import { localClient } from '../support/dynamodb.ts';

const CLUSTER_ARN = 'arn:aws:kafka:eu-west-1:123456789012:cluster/streamguard/0f3a1c2e-1b2c-4d5e-8f90-123456789abc-2';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:streamguard/kafka-AbCdEf';
const VPC = { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] };
const STACK = 'StreamGuard';

/** Data actions: what a function does to data or a cluster (logs and ENIs are platform plumbing). */
const DATA_ACTION = /^(dynamodb|kafka-cluster|kafka|secretsmanager|sqs):/;

/**
 * Granted but not recordable here: the Lambda service's own Kafka pollers and on-failure delivery
 * run with the function role, and no local component does what they do.
 */
const ALLOWED_UNRECORDED: { call: RegExp; why: string }[] = [
  {
    call: /^ingest dynamodb:GetItem table:state$/,
    why: "the sequence stage reads a batch's key states with BatchGetItem and re-reads one key with GetItem only after losing a compare-and-set race (lib/sequences/stage.ts), which a scenario may or may not produce; test/unit/sequence-stage.test.ts covers that path.",
  },
  {
    call: /^ingest kafka-cluster:DescribeClusterDynamicConfiguration kafka:cluster$/,
    why: 'AWS lists it among the permissions an MSK event source mapping with IAM auth needs (its pollers read the cluster configuration); the emulator does not.',
  },
  {
    call: /^ingest kafka:(DescribeCluster|GetBootstrapBrokers|ListScramSecrets) kafka:cluster$/,
    why: 'CDK ManagedKafkaEventSource grants these to the function role: the MSK mapping looks up the cluster and its brokers with it.',
  },
  {
    call: /^ingest sqs:(SendMessage|GetQueueAttributes|GetQueueUrl) getatt:IngestFailures/,
    why: 'the mapping writes on-failure records to the SQS destination with the function role (CDK SqsDlq grant); locally the destination is a Kafka topic.',
  },
  {
    call: /^dispatcher dynamodb:ListStreams \*$/,
    why: "the DynamoDB event source grants it for the stream mapping's poller (it lists streams and takes no resource); the emulator reads the table's latest stream ARN instead.",
  },
  {
    call: /^dispatcher sqs:(SendMessage|GetQueueAttributes|GetQueueUrl) getatt:AlertDeliveryFailures/,
    why: 'the stream mapping writes the description of a batch it gave up on to the SQS destination with the function role (CDK SqsDlq grant); locally it is kept in memory.',
  },
  {
    call: /^ingest secretsmanager:(GetSecretValue|DescribeSecret) secret:/,
    why: "a self-managed Kafka mapping reads the SASL/SCRAM secret with the function role; the mock broker has no SASL.",
  },
];

let runtime: LocalRuntime;
let recorder: Recorder;
let recorded: Call[] = [];
let alertsRaised = 0;

function synth(input: StackConfigInput): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new StreamGuardStack(app, STACK, { config: parseStackConfig(input) }));
}

async function caughtUp(timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await runtime.lag()) > 0) {
    if (Date.now() > deadline) throw new Error(`still lagging after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  // The local mappings' group ids stand for the deployed ones of the same topic.
  const deployedGroup = (local: string) => {
    const topic = /^streamguard-ingest-(.+)$/.exec(local)?.[1];
    return topic ? resolveMapping({ topic, enabled: true }, STACK).consumerGroupId : `unknown(${local})`;
  };
  // Kafka requests of the mapping emulator stand for the deployed mapping's, made with the ingest role.
  recorder = startRecorder({ kafkaClients: { 'local-esm': 'ingest', 'streamguard-closer': 'closer', 'streamguard-dispatcher': 'dispatcher' }, groupOf: deployedGroup });
  runtime = await startRuntime({ dynamoEndpoint: inject('dynamoEndpoint'), tablePrefix: `iam${randomUUID().slice(0, 6)}`, schedule: false, batchSize: 200 });
  recorder.watchDynamo(runtime.functions.clients, runtime.services.tables);

  // Background traffic, injected fraud, late and malformed records: every path of both functions.
  // 100 minutes of event time, so windows of every pipeline close behind the 10-minute delay.
  const { records } = generate({ events: 3000, seed: 3, eventsPerSecondOfEventTime: 0.5 });
  await produceRecords(runtime.services.brokers, records);
  await caughtUp();
  // A window in the due index whose item is malformed (no pipeline): the closer sets it aside and
  // records why. Written with a client of its own, so the write is not one of the functions' calls.
  await localClient().send(
    new PutItemCommand({
      TableName: runtime.services.tables.windows,
      Item: { pk: { S: 'payments#broken' }, sk: { N: '0' }, windowStart: { N: '0' }, windowEnd: { N: '300000' }, dueShard: { S: dueShardOf('payments', 'broken') } },
    }),
  );
  // Partitions go idle (the runtime's idle timeout is 5 s), so the last windows close too.
  await new Promise((r) => setTimeout(r, 6_000));
  for (let pass = 0; pass < 3; pass++) {
    const report = await runtime.runCloser();
    alertsRaised += report.pipelines.reduce((n, p) => n + p.alerts, 0);
    if (!report.incomplete) break;
  }
  // The alerts leave through the outbox: the stream mapping and the dispatcher.
  await runtime.alertsDispatched();
  // The closer's cluster lookups, which only run against AWS: recorded, never sent.
  await recorder.as('closer', () => kafkaFor({ kind: 'msk-iam', clusterArn: CLUSTER_ARN, region: 'eu-west-1' }, 'streamguard-closer'));
  await recorder.as('closer', () => kafkaFor({ kind: 'scram', brokers: ['b-1.example.com:9096'], secretArn: SECRET_ARN }, 'streamguard-closer'));
  await recorder.as('dispatcher', () => kafkaFor({ kind: 'msk-iam', clusterArn: CLUSTER_ARN, region: 'eu-west-1' }, 'streamguard-dispatcher'));
  await recorder.as('dispatcher', () => kafkaFor({ kind: 'scram', brokers: ['b-1.example.com:9096'], secretArn: SECRET_ARN }, 'streamguard-dispatcher'));
  recorded = recorder.calls();
}, 240_000);

afterAll(async () => {
  recorder?.stop();
  await runtime?.stop();
});

/** What a template must grant (calls that apply to it) and what it grants beyond them. */
function compare(template: Template, applies: (c: Call) => boolean, names: { clusterArn?: string }) {
  const granted = grantedCalls(template, names);
  const grantedKeys = new Set(granted.map(callKey));
  const needed = recorded.filter(applies);
  const recordedKeys = new Set(recorded.map(callKey));
  const missing = needed.map(callKey).filter((k) => !grantedKeys.has(k));
  const unused = [...new Set(granted.filter((g) => DATA_ACTION.test(g.action)).map(callKey))]
    .filter((k) => !recordedKeys.has(k))
    .filter((k) => !ALLOWED_UNRECORDED.some((a) => a.call.test(k)));
  return { missing: missing.sort(), unused: unused.sort(), needed };
}

describe('IAM: what the functions call is what the stack grants', () => {
  it('the scenario exercises every kind of call (reads, writes, side outputs, alerts, the alert stream, Kafka both ways)', () => {
    expect(recorder.unmapped()).toEqual([]);
    expect(alertsRaised).toBeGreaterThan(0);
    const keys = new Set(recorded.map(callKey));
    for (const k of [
      'ingest dynamodb:BatchGetItem table:state',
      'ingest dynamodb:UpdateItem table:windows',
      'ingest dynamodb:UpdateItem table:state',
      'ingest dynamodb:BatchWriteItem table:sideOutput',
      // Early alerts: the rules, and the alert record.
      'ingest dynamodb:Query table:state',
      'ingest dynamodb:PutItem table:alerts',
      'ingest kafka-cluster:ReadData kafka:topic/user_events',
      `ingest kafka-cluster:AlterGroup kafka:group/${STACK}-user_events`,
      'closer dynamodb:Query table:windows/index/due',
      'closer dynamodb:Query table:state',
      'closer dynamodb:UpdateItem table:windows',
      'closer dynamodb:GetItem table:windows',
      // The record of the window set aside.
      'closer dynamodb:PutItem table:alerts',
      // The close completing (or creating) an alert record.
      'closer dynamodb:UpdateItem table:alerts',
      'closer kafka-cluster:DescribeGroup kafka:group/StreamGuard-user_events',
      'closer kafka:GetBootstrapBrokers kafka:cluster',
      `closer secretsmanager:GetSecretValue secret:${SECRET_ARN}`,
      'dispatcher dynamodb:DescribeStream table:alerts/stream',
      'dispatcher dynamodb:GetShardIterator table:alerts/stream',
      'dispatcher dynamodb:GetRecords table:alerts/stream',
      'dispatcher kafka-cluster:WriteData kafka:topic/fraud_alerts',
      'dispatcher kafka:GetBootstrapBrokers kafka:cluster',
      `dispatcher secretsmanager:GetSecretValue secret:${SECRET_ARN}`,
    ]) {
      expect(keys, k).toContain(k);
    }
    // Only the dispatcher produces to the alert topic.
    expect([...keys].filter((k) => k.includes('WriteData'))).toEqual(['dispatcher kafka-cluster:WriteData kafka:topic/fraud_alerts']);
  });

  it('MSK with IAM auth: every call is granted on its resource, and nothing else is', () => {
    const template = synth({ mskClusterArn: CLUSTER_ARN, vpc: VPC });
    const { missing, unused, needed } = compare(template, (c) => !c.action.startsWith('secretsmanager:'), { clusterArn: CLUSTER_ARN });
    expect(needed.length).toBeGreaterThan(20);
    expect(missing, 'called but not granted').toEqual([]);
    expect(unused, 'granted but never called').toEqual([]);
  });

  it('self-managed Kafka with SASL/SCRAM: every DynamoDB and secret call is granted, and nothing else is', () => {
    const template = synth({ bootstrapServers: ['b-1.example.com:9096'], secretArn: SECRET_ARN });
    const { missing, unused } = compare(template, (c) => !/^kafka(-cluster)?:/.test(c.action), {});
    expect(missing, 'called but not granted').toEqual([]);
    expect(unused, 'granted but never called').toEqual([]);
  });
});
