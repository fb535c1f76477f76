/**
 * Reaching Kafka from Lambda: Amazon MSK with IAM auth (OAUTHBEARER tokens signed by the function's
 * role; brokers looked up from the cluster ARN once per container), or plain brokers locally.
 */
import { GetBootstrapBrokersCommand, KafkaClient } from '@aws-sdk/client-kafka';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, logLevel } from 'kafkajs';

export type KafkaTarget = { kind: 'msk-iam'; clusterArn: string; region: string } | { kind: 'brokers'; brokers: string[] };

let cachedBrokers: { arn: string; brokers: string[] } | undefined;

async function mskBrokers(clusterArn: string, region: string): Promise<string[]> {
  if (cachedBrokers?.arn === clusterArn) return cachedBrokers.brokers;
  const client = new KafkaClient({ region });
  try {
    const out = await client.send(new GetBootstrapBrokersCommand({ ClusterArn: clusterArn }));
    const list = out.BootstrapBrokerStringSaslIam;
    if (!list) throw new Error(`MSK cluster ${clusterArn} has no IAM (SASL/IAM) bootstrap brokers: enable IAM access control on it`);
    cachedBrokers = { arn: clusterArn, brokers: list.split(',') };
    return cachedBrokers.brokers;
  } finally {
    client.destroy();
  }
}

/** A kafkajs client for the target; for MSK, TLS plus IAM-signed OAUTHBEARER tokens. */
export async function kafkaFor(target: KafkaTarget, clientId: string): Promise<Kafka> {
  if (target.kind === 'brokers') return new Kafka({ clientId, brokers: target.brokers, logLevel: logLevel.NOTHING });
  const brokers = await mskBrokers(target.clusterArn, target.region);
  return new Kafka({
    clientId,
    brokers,
    ssl: true,
    logLevel: logLevel.ERROR,
    sasl: {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: (await generateAuthToken({ region: target.region })).token }),
    },
  });
}
