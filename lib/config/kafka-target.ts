/** Where a function reaches Kafka, from the environment the stack sets (shared by the closer and the dispatcher). */
import * as z from '../zod.ts';
import type { KafkaTarget } from '../sinks/msk.ts';

export const kafkaTargetEnv = {
  MSK_CLUSTER_ARN: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster\/.+/, 'must be an MSK cluster ARN'))),
  KAFKA_BROKERS: z.optional(z.string().check(z.regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'must be host:port[,host:port...]'))),
  KAFKA_SECRET_ARN: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+/, 'must be a Secrets Manager secret ARN'))),
  AWS_REGION: z.optional(z.string()),
};

/** The target the variables name, or undefined when none is set. */
export function kafkaTargetOf(e: { MSK_CLUSTER_ARN?: string; KAFKA_BROKERS?: string; KAFKA_SECRET_ARN?: string; AWS_REGION?: string }): KafkaTarget | undefined {
  if (e.MSK_CLUSTER_ARN) return { kind: 'msk-iam', clusterArn: e.MSK_CLUSTER_ARN, region: e.AWS_REGION ?? e.MSK_CLUSTER_ARN.split(':')[3]! };
  if (!e.KAFKA_BROKERS) return undefined;
  const brokers = e.KAFKA_BROKERS.split(',');
  return e.KAFKA_SECRET_ARN ? { kind: 'scram', brokers, secretArn: e.KAFKA_SECRET_ARN } : { kind: 'brokers', brokers };
}

/** The one phrase every Kafka-using function's error gives for a missing target. */
export const KAFKA_TARGET_HINT = 'set MSK_CLUSTER_ARN (Amazon MSK with IAM auth) or KAFKA_BROKERS (host:port,...; with KAFKA_SECRET_ARN for SASL/SCRAM)';
