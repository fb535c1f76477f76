/**
 * ARNs of an MSK cluster's topics and consumer groups, for IAM statements scoped to exactly what a
 * function reads or writes (https://docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html).
 */
import { MSK_CLUSTER_ARN, StackConfigError } from './config.ts';

export interface MskCluster {
  arn: string;
  partition: string;
  region: string;
  account: string;
  name: string;
  uuid: string;
}

export function parseClusterArn(arn: string): MskCluster {
  const m = MSK_CLUSTER_ARN.exec(arn);
  if (!m) throw new StackConfigError(`mskClusterArn: "${arn}" is not an MSK cluster ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>)`);
  const [, partition, region, account, name, uuid] = m as unknown as [string, string, string, string, string, string];
  return { arn, partition, region, account, name, uuid };
}

const prefix = (c: MskCluster, kind: 'topic' | 'group') => `arn:${c.partition}:kafka:${c.region}:${c.account}:${kind}/${c.name}/${c.uuid}`;

/** arn:aws:kafka:region:account:topic/clusterName/clusterUuid/topicName */
export const topicArn = (c: MskCluster, topic: string): string => `${prefix(c, 'topic')}/${topic}`;

/** arn:aws:kafka:region:account:group/clusterName/clusterUuid/groupId */
export const groupArn = (c: MskCluster, group: string): string => `${prefix(c, 'group')}/${group}`;
