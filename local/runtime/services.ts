/**
 * The services a local run needs: a Kafka-protocol broker and DynamoDB. Each is external when
 * configured (KAFKA_BROKERS, AWS_ENDPOINT_URL), otherwise started here and stopped with the run.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localDynamoClient } from '../services/client.ts';
import { startMockKafka } from '../broker/mock-kafka.ts';
import { startDynamoDbLocal } from '../services/dynamodb-local.ts';
import { ensureTables, localTableNames } from '../services/tables.ts';
import { DEFAULT_ALERT_TOPIC, DEFAULT_FAILURE_TOPIC, defaultMappings } from '../../lib/config/deployment.ts';
import type { TableNames } from '../../lib/store/tables.ts';

export interface Services {
  brokers: string[];
  dynamoEndpoint: string;
  tables: TableNames;
  client: DynamoDBClient;
  /** What was started here (and will be stopped), for the banner. */
  started: string[];
  stop(): Promise<void>;
}

export interface ServicesOptions {
  kafkaBrokers?: string[];
  dynamoEndpoint?: string;
  tablePrefix?: string;
}

export async function startServices(o: ServicesOptions = {}): Promise<Services> {
  const stops: (() => Promise<void>)[] = [];
  const started: string[] = [];
  try {
    let brokers = o.kafkaBrokers;
    if (!brokers) {
      const kafka = await startMockKafka({
        brokers: 1,
        topics: [
          ...defaultMappings.map((m) => ({ name: m.topic, partitions: m.partitions })),
          { name: DEFAULT_ALERT_TOPIC, partitions: 1 },
          { name: DEFAULT_FAILURE_TOPIC, partitions: 1 },
        ],
      });
      stops.push(() => kafka.stop());
      brokers = kafka.bootstrapServers;
      started.push(`Kafka (librdkafka ${kafka.librdkafka.version} mock cluster, ${kafka.librdkafka.origin}) at ${brokers.join(',')}`);
    }
    let endpoint = o.dynamoEndpoint;
    if (!endpoint) {
      const ddb = await startDynamoDbLocal();
      stops.push(() => ddb.stop());
      endpoint = ddb.endpoint;
      started.push(`DynamoDB Local at ${endpoint}`);
    }
    const client = localDynamoClient(endpoint);
    stops.push(async () => client.destroy());
    const tables = localTableNames(o.tablePrefix);
    await ensureTables(client, tables);
    return {
      brokers,
      dynamoEndpoint: endpoint,
      tables,
      client,
      started,
      stop: async () => {
        for (const stop of stops.reverse()) await stop().catch(() => {});
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw err;
  }
}
