/** The closer's view of the mappings' backlog, read from a real Kafka-protocol broker. */
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockKafka, type MockKafka } from '../../local/broker/mock-kafka.ts';
import { KafkaSourceBacklog } from '../../lib/sinks/kafka-backlog.ts';

let broker: MockKafka;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startMockKafka({ brokers: 1, topics: [{ name: 'events', partitions: 2 }] });
  kafka = new Kafka({ clientId: 'backlog-test', brokers: broker.bootstrapServers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic: 'events', messages: [...Array.from({ length: 5 }, () => ({ partition: 0, value: 'a' })), ...Array.from({ length: 3 }, () => ({ partition: 1, value: 'b' }))] });
  await producer.disconnect();
});

afterAll(async () => {
  await broker?.stop();
});

describe('KafkaSourceBacklog', () => {
  it('counts per partition what the mapping has not committed, from the log start when it never committed', async () => {
    const backlog = new KafkaSourceBacklog(async () => kafka, { events: 'mapping-g' });
    try {
      expect(await backlog.of('events')).toEqual(new Map([[0, 5], [1, 3]]));
      // As the mapping commits after a successful batch of offsets 0-1 on partition 0.
      const consumer = kafka.consumer({ groupId: 'mapping-g', sessionTimeout: 6_000, heartbeatInterval: 500 });
      await consumer.connect();
      await consumer.subscribe({ topic: 'events', fromBeginning: true });
      const joined = new Promise((resolve) => consumer.on(consumer.events.GROUP_JOIN, resolve));
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
      await joined;
      await consumer.commitOffsets([{ topic: 'events', partition: 0, offset: '2' }]);
      await consumer.disconnect();
      expect(await backlog.of('events')).toEqual(new Map([[0, 3], [1, 3]]));
    } finally {
      await backlog.close();
    }
  });

  it('answers unknown, never an error, for a topic with no known group or an unreachable broker', async () => {
    const known = new KafkaSourceBacklog(async () => kafka, {});
    expect(await known.of('events')).toBeUndefined();
    const warnings: string[] = [];
    const dead = new KafkaSourceBacklog(
      async () => new Kafka({ clientId: 'dead', brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 300 }),
      { events: 'g' },
      { warn: (m) => warnings.push(m) },
    );
    expect(await dead.of('events')).toBeUndefined();
    expect(warnings).toHaveLength(1);
    await dead.close();
  });
});
