import { describe, expect, it } from 'vitest';
import { loadCloserConfig } from '../../lib/config/closer-config.ts';
import { loadDispatcherConfig } from '../../lib/config/dispatcher-config.ts';

const tables = { WINDOWS_TABLE: 'w-table', STATE_TABLE: 's-table', ALERTS_TABLE: 'a-table' };
const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:kafka-scram-AbCdEf';

describe('closer configuration', () => {
  it('chooses MSK IAM, SASL/SCRAM or plain brokers for the source backlog', () => {
    expect(loadCloserConfig({ ...tables, MSK_CLUSTER_ARN: 'arn:aws:kafka:eu-west-1:123456789012:cluster/c/uuid-1' }).kafka).toEqual({
      kind: 'msk-iam',
      clusterArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/c/uuid-1',
      region: 'eu-west-1',
    });
    expect(loadCloserConfig({ ...tables, KAFKA_BROKERS: 'b-1:9096,b-2:9096', KAFKA_SECRET_ARN: SECRET }).kafka).toEqual({ kind: 'scram', brokers: ['b-1:9096', 'b-2:9096'], secretArn: SECRET });
    expect(loadCloserConfig({ ...tables, KAFKA_BROKERS: 'localhost:9092' }).kafka).toEqual({ kind: 'brokers', brokers: ['localhost:9092'] });
  });

  it('names what to set when the deployment is incomplete or wrong', () => {
    // Kafka only for the backlog: without consumer groups to read, the closer needs no cluster.
    expect(loadCloserConfig({ ...tables }).kafka).toBeUndefined();
    expect(() => loadCloserConfig({ ...tables, SOURCE_CONSUMER_GROUPS: 'user_events=g1' })).toThrow(/set MSK_CLUSTER_ARN .* or KAFKA_BROKERS.*SOURCE_CONSUMER_GROUPS needs the cluster/);
    expect(() => loadCloserConfig({ KAFKA_BROKERS: 'b:1' })).toThrow(/WINDOWS_TABLE: required/);
    expect(() => loadCloserConfig({ ...tables, KAFKA_BROKERS: 'b:1', WATERMARK_POLICY: 'median' })).toThrow(/WATERMARK_POLICY: must be "min"/);
  });
});

describe('dispatcher configuration', () => {
  it('takes the alert topic and where Kafka is, and names what to set without it', () => {
    expect(loadDispatcherConfig({ KAFKA_BROKERS: 'b-1:9096', KAFKA_SECRET_ARN: SECRET, ALERT_TOPIC: 'alerts.v2' })).toEqual({ alertTopic: 'alerts.v2', kafka: { kind: 'scram', brokers: ['b-1:9096'], secretArn: SECRET } });
    expect(loadDispatcherConfig({ KAFKA_BROKERS: 'localhost:9092' }).alertTopic).toBe('fraud_alerts');
    expect(() => loadDispatcherConfig({})).toThrow(/dispatch-alerts is misconfigured; set MSK_CLUSTER_ARN .* for the alert topic/);
    expect(() => loadDispatcherConfig({ KAFKA_BROKERS: 'b:1', ALERT_TOPIC: 'no spaces' })).toThrow(/ALERT_TOPIC: must be a Kafka topic name/);
  });
});
