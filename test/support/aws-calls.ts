/**
 * What the functions call on AWS, recorded while they run locally, and what a synthesized template
 * grants, both in one canonical form ("<principal> <action> <resource>") so a test can compare them.
 *
 * - AWS SDK calls: a recording middleware on the functions' DynamoDB clients (attributed to the
 *   function that owns the client), and a recording `send` on the Kafka and Secrets Manager client
 *   classes (only the closer's lib/sinks/msk.ts creates those; they never leave the machine).
 * - Kafka protocol calls (MSK IAM access control authorises each request): every kafkajs broker
 *   request in the process, by client id, mapped to the kafka-cluster action MSK checks for it.
 *
 * - DynamoDB stream reads: a recording (pass-through) `send` on the DynamoDBStreamsClient class,
 *   which only the local stream mapping uses; its reads stand for the AWS mapping's, made with the
 *   dispatcher's role.
 *
 * Resources: tables by their id in lib/store/tables.ts (`table:windows`, `table:windows/index/due`,
 * a table's stream `table:alerts/stream`),
 * Kafka by kind and name (`kafka:cluster`, `kafka:topic/user_events`, `kafka:group/<group id>`),
 * secrets by ARN (`secret:<arn>`).
 */
import { createRequire } from 'node:module';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KafkaClient } from '@aws-sdk/client-kafka';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Template } from 'aws-cdk-lib/assertions';
import { allTables, type TableDef, type TableNames } from '../../lib/store/tables.ts';

export type Principal = 'ingest' | 'closer' | 'dispatcher';

/** One permission-relevant call: who, which IAM action, on what. */
export interface Call {
  principal: Principal;
  action: string;
  resource: string;
}

export const callKey = (c: Call): string => `${c.principal} ${c.action} ${c.resource}`;

type Input = Record<string, any>;

/** The table(s) a DynamoDB command touches, from its input (TableName, IndexName, RequestItems keys). */
export function dynamoResources(input: Input, tableIdOf: (name: string) => string | undefined): string[] {
  const names: string[] = [];
  if (typeof input.TableName === 'string') names.push(input.TableName);
  for (const key of ['RequestItems', 'TransactItems'] as const) {
    const v = input[key];
    if (v && !Array.isArray(v)) names.push(...Object.keys(v));
    if (Array.isArray(v)) for (const item of v) for (const op of Object.values(item as Input)) if (typeof (op as Input).TableName === 'string') names.push((op as Input).TableName);
  }
  return names.map((name) => {
    const id = tableIdOf(name) ?? `unknown(${name})`;
    return typeof input.IndexName === 'string' ? `table:${id}/index/${input.IndexName}` : `table:${id}`;
  });
}

/** `BatchGetItemCommand` -> `dynamodb:BatchGetItem`. */
const actionOf = (service: string, commandName: string) => `${service}:${commandName.replace(/Command$/, '')}`;

/**
 * The Kafka APIs a client sends, as the kafka-cluster actions MSK authorises them with
 * (https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html: each action is the
 * Apache Kafka ACL of the same meaning; READ on a group is AlterGroup, READ on a topic ReadData).
 * Every request also needs kafka-cluster:Connect on the cluster.
 */
function kafkaActions(method: string, args: any): { action: string; resource: string }[] {
  const topics = (list: unknown): string[] =>
    Array.isArray(list) ? list.map((t) => (typeof t === 'string' ? t : (t as { topic: string }).topic)).filter(Boolean) : [];
  const on = (action: string, resources: string[]) => resources.map((resource) => ({ action: `kafka-cluster:${action}`, resource }));
  const topic = (names: string[]) => names.map((n) => `kafka:topic/${n}`);
  const group = (id: string | undefined) => (id ? [`kafka:group/${id}`] : []);
  const a = args?.[0] ?? {};
  switch (method) {
    case 'metadata':
      return on('DescribeTopic', topic(topics(args?.[0])));
    case 'produce':
      return on('WriteData', topic(topics(a.topicData)));
    case 'fetch':
      return on('ReadData', topic(topics(a.topics)));
    case 'listOffsets':
      return on('DescribeTopic', topic(topics(a.topics)));
    case 'findGroupCoordinator':
      // coordinatorType 1 is a transaction coordinator (not used here); 0 or unset is a group.
      return a.coordinatorType === 1 ? [] : on('DescribeGroup', group(a.groupId));
    case 'joinGroup':
    case 'syncGroup':
    case 'heartbeat':
    case 'leaveGroup':
      return on('AlterGroup', group(a.groupId));
    case 'offsetCommit':
      return [...on('AlterGroup', group(a.groupId)), ...on('ReadData', topic(topics(a.topics)))];
    case 'offsetFetch':
      return [...on('DescribeGroup', group(a.groupId)), ...on('DescribeTopic', topic(topics(a.topics)))];
    case 'describeGroups':
      return (a.groupIds ?? []).flatMap((id: string) => on('DescribeGroup', group(id)));
    case 'initProducerId':
      return on('WriteDataIdempotently', ['kafka:cluster']);
    case 'describeConfigs':
      return on('DescribeTopicDynamicConfiguration', ['kafka:cluster']);
    default:
      return [];
  }
}

const BROKER_METHODS = [
  'metadata',
  'produce',
  'fetch',
  'listOffsets',
  'findGroupCoordinator',
  'joinGroup',
  'syncGroup',
  'heartbeat',
  'leaveGroup',
  'offsetCommit',
  'offsetFetch',
  'describeGroups',
  'initProducerId',
  'describeConfigs',
  'createTopics',
  'deleteTopics',
  'createPartitions',
  'alterConfigs',
  'deleteGroups',
  'deleteRecords',
];

export interface RecorderOptions {
  /** kafkajs client id -> whose IAM role a deployed equivalent would use. */
  kafkaClients: Record<string, Principal>;
  /** Kafka consumer group id as run locally -> the group id the stack deploys. */
  groupOf?: (localGroupId: string) => string;
}

export interface Recorder {
  /**
   * Records the calls of the functions' own DynamoDB clients, resolving table names to table ids,
   * and every DynamoDB stream read in the process as the dispatcher's (the mapping's).
   */
  watchDynamo(dynamo: Partial<Record<Principal, DynamoDBClient>>, tables: TableNames): void;
  calls(): Call[];
  /** Kafka broker requests with no action mapping here (a gap to close, not to ignore). */
  unmapped(): string[];
  /** Runs fn with Kafka/Secrets Manager SDK calls attributed to principal (they are recorded, never sent). */
  as<T>(principal: Principal, fn: () => Promise<T>): Promise<T | undefined>;
  stop(): void;
}

/** Raised instead of sending a Kafka or Secrets Manager request: recorded, never sent. */
export class NotSentError extends Error {
  override readonly name = 'NotSentError';
}

export function startRecorder(o: RecorderOptions): Recorder {
  const calls = new Map<string, Call>();
  const unmapped = new Set<string>();
  const add = (c: Call) => calls.set(callKey(c), c);
  const undo: (() => void)[] = [];

  // DynamoDB: middleware at initialize (before retries, once per logical call) on each function's client.
  const watchDynamo = (dynamo: Partial<Record<Principal, DynamoDBClient>>, tables: TableNames) => {
    const idByName = new Map(Object.entries(tables).map(([id, name]) => [name, id]));
    // A stream ARN names its table: arn:...:table/<name>/stream/<label>. DynamoDB Local's shard
    // iterators start with the stream ARN (AWS's are opaque; IAM checks them against the stream).
    const streamOf = (input: Input) => {
      const arn = String(input.StreamArn ?? String(input.ShardIterator ?? '').split('|')[0]);
      const name = /:table\/([^/]+)\/stream\//.exec(arn)?.[1];
      return `table:${(name && idByName.get(name)) ?? `unknown(${arn})`}/stream`;
    };
    const send = DynamoDBStreamsClient.prototype.send as (...a: any[]) => any;
    DynamoDBStreamsClient.prototype.send = function (this: unknown, command: any, ...rest: any[]) {
      add({ principal: 'dispatcher', action: actionOf('dynamodb', command.constructor.name), resource: streamOf(command.input) });
      return send.call(this, command, ...rest);
    } as typeof DynamoDBStreamsClient.prototype.send;
    undo.push(() => {
      DynamoDBStreamsClient.prototype.send = send as typeof DynamoDBStreamsClient.prototype.send;
    });
    for (const principal of Object.keys(dynamo) as Principal[]) {
      const client = dynamo[principal]!;
      const name = `iamRecorder-${principal}`;
      client.middlewareStack.remove(name);
      client.middlewareStack.add(
        ((next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: any) => {
          const action = actionOf('dynamodb', context.commandName ?? '?');
          for (const resource of dynamoResources(args.input as Input, (n) => idByName.get(n))) add({ principal, action, resource });
          return next(args);
        }) as any,
        { step: 'initialize', name },
      );
      undo.push(() => client.middlewareStack.remove(name));
    }
  };

  // Kafka and Secrets Manager SDK clients: created per use inside lib/sinks/msk.ts, so by class.
  let sdkPrincipal: Principal | undefined;
  const wrap = (cls: { prototype: { send: (...a: any[]) => any } }, service: string, resourceOf: (input: Input) => string) => {
    const original = cls.prototype.send;
    cls.prototype.send = function (command: any, ...rest: any[]) {
      if (!sdkPrincipal) return original.call(this, command, ...rest);
      add({ principal: sdkPrincipal, action: actionOf(service, command.constructor.name), resource: resourceOf(command.input) });
      return Promise.reject(new NotSentError(`${service} ${command.constructor.name}: recorded, not sent`));
    };
    undo.push(() => {
      cls.prototype.send = original;
    });
  };
  wrap(KafkaClient, 'kafka', (i) => (i.ClusterArn ? 'kafka:cluster' : 'kafka:?'));
  wrap(SecretsManagerClient, 'secretsmanager', (i) => `secret:${i.SecretId}`);

  // kafkajs: every broker request of the process, attributed by client id.
  const require = createRequire(import.meta.url);
  const Broker = require('kafkajs/src/broker/index.js') as { prototype: Record<string, (...a: any[]) => any> };
  for (const method of BROKER_METHODS) {
    const original = Broker.prototype[method];
    if (typeof original !== 'function') continue;
    Broker.prototype[method] = function (this: { connectionPool?: { clientId?: string } }, ...args: any[]) {
      const principal = o.kafkaClients[this.connectionPool?.clientId ?? ''];
      if (principal) {
        add({ principal, action: 'kafka-cluster:Connect', resource: 'kafka:cluster' });
        const mapped = kafkaActions(method, args);
        if (mapped.length === 0 && method !== 'metadata') unmapped.add(`${principal} ${method}`);
        for (const m of mapped) {
          const resource = m.resource.startsWith('kafka:group/') && o.groupOf ? `kafka:group/${o.groupOf(m.resource.slice('kafka:group/'.length))}` : m.resource;
          add({ principal, action: m.action, resource });
        }
      }
      return original.apply(this, args);
    };
    undo.push(() => {
      Broker.prototype[method] = original;
    });
  }

  return {
    watchDynamo,
    calls: () => [...calls.values()],
    unmapped: () => [...unmapped],
    async as(principal, fn) {
      sdkPrincipal = principal;
      try {
        return await fn();
      } catch (err) {
        if (err instanceof NotSentError || (err as Error).cause instanceof NotSentError) return undefined;
        throw err;
      } finally {
        sdkPrincipal = undefined;
      }
    },
    stop: () => {
      for (const u of undo.reverse()) u();
    },
  };
}

// ---- The template side.

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/** The logical id prefix the stack gives each table (infra/streamguard-stack.ts: `<Id>Table`). */
const tableLogicalPrefix = (def: TableDef) => `${def.id.charAt(0).toUpperCase()}${def.id.slice(1)}Table`;

export interface TemplateNames {
  clusterArn?: string;
}

/** A statement's resource in the canonical form, or `?<json>` for one this mapping does not know. */
export function canonicalResource(r: unknown, names: TemplateNames): string {
  const tableOf = (logicalId: string) => allTables.find((d) => logicalId.startsWith(tableLogicalPrefix(d)))?.id;
  if (r === '*') return '*';
  if (typeof r === 'string') {
    if (names.clusterArn && r === names.clusterArn) return 'kafka:cluster';
    const kafka = /^arn:[^:]+:kafka:[^:]+:\d+:(topic|group)\/[^/]+\/[^/]+\/(.+)$/.exec(r);
    if (kafka) return `kafka:${kafka[1]}/${kafka[2]}`;
    if (/^arn:[^:]+:secretsmanager:/.test(r)) return `secret:${r}`;
    return r;
  }
  const o = r as Record<string, any>;
  if (o?.['Fn::GetAtt']?.[1] === 'Arn') {
    const id = tableOf(o['Fn::GetAtt'][0]);
    if (id) return `table:${id}`;
    return `getatt:${o['Fn::GetAtt'][0]}`;
  }
  if (o?.['Fn::GetAtt']?.[1] === 'StreamArn') {
    const id = tableOf(o['Fn::GetAtt'][0]);
    if (id) return `table:${id}/stream`;
  }
  if (Array.isArray(o?.['Fn::Join']) && o['Fn::Join'][0] === '') {
    const parts = o['Fn::Join'][1] as unknown[];
    if (parts.length === 2 && typeof parts[1] === 'string') {
      const base = canonicalResource(parts[0], names);
      if (base.startsWith('table:')) return `${base}${parts[1]}`;
    }
  }
  return `?${JSON.stringify(r)}`;
}

/** Every Allow statement of the roles whose logical ids start with IngestRole / CloserRole / DispatcherRole, as calls. */
export function grantedCalls(template: Template, names: TemplateNames): Call[] {
  const out: Call[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles = (policy.Properties.Roles as { Ref: string }[]).map((r) => r.Ref);
    const principals = roles.flatMap((ref): Principal[] =>
      ref.startsWith('IngestRole') ? ['ingest'] : ref.startsWith('CloserRole') ? ['closer'] : ref.startsWith('DispatcherRole') ? ['dispatcher'] : [],
    );
    for (const s of policy.Properties.PolicyDocument.Statement as Statement[]) {
      if (s.Effect !== 'Allow') continue;
      for (const principal of principals) {
        for (const action of list(s.Action)) for (const r of list(s.Resource)) out.push({ principal, action, resource: canonicalResource(r, names) });
      }
    }
  }
  return out;
}
