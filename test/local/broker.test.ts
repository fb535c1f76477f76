/**
 * The local Kafka (librdkafka's mock cluster in a native host) against the real client we use:
 * exact partition counts, runtime topic creation, a produce/consume round trip, clean shutdown.
 */
import { connect } from 'node:net';
import { Kafka, Partitioners, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockKafkaBuildError, chooseRoute, ensureMockKafkaHost, hostBinary, hostVersion } from '../../local/broker/build.ts';
import { startMockKafka, type MockKafka } from '../../local/broker/mock-kafka.ts';

let broker: MockKafka;
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  broker = await startMockKafka({
    brokers: 3,
    topics: [
      { name: 'one', partitions: 1 },
      { name: 'seven', partitions: 7 },
      { name: 'with.dots_and-dashes', partitions: 12 },
    ],
  });
  kafka = new Kafka({ clientId: 'broker-test', brokers: broker.bootstrapServers, logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

async function partitionCount(topic: string): Promise<number> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0]!.partitions.length;
}

function portOpen(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const socket = connect(Number(port), host!);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('mock Kafka host', () => {
  it('reports one bootstrap address per broker', () => {
    expect(broker.bootstrapServers).toHaveLength(3);
    for (const address of broker.bootstrapServers) expect(address).toMatch(/^[\w.-]+:\d+$/);
  });

  it('creates the command-line topics with exactly the requested partition counts', async () => {
    expect(await partitionCount('one')).toBe(1);
    expect(await partitionCount('seven')).toBe(7);
    expect(await partitionCount('with.dots_and-dashes')).toBe(12);
  });

  it('spreads partition leaders over the brokers', async () => {
    // The mock picks each leader at random, so only "more than one" is certain enough to assert.
    const { topics } = await admin.fetchTopicMetadata({ topics: ['with.dots_and-dashes'] });
    const leaders = new Set(topics[0]!.partitions.map((p) => p.leader));
    expect(leaders.size).toBeGreaterThan(1);
    for (const leader of leaders) expect([1, 2, 3]).toContain(leader);
  });

  it('creates topics at runtime, and refuses a duplicate or an invalid one', async () => {
    await broker.createTopic('runtime', 5);
    expect(await partitionCount('runtime')).toBe(5);
    await expect(broker.createTopic('runtime', 5)).rejects.toThrow(/already exists/i);
    await expect(broker.createTopic('bad name', 1)).rejects.toThrow(/invalid Kafka topic name/);
    await expect(broker.createTopic('zero', 0)).rejects.toThrow(/invalid partition count/);
  });

  it('round-trips messages through kafkajs, per partition, with keys and headers', async () => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic: 'seven',
      messages: Array.from({ length: 70 }, (_, i) => ({ partition: i % 7, key: `k${i}`, value: `v${i}`, headers: { n: String(i) } })),
    });
    await producer.disconnect();
    const offsets = await admin.fetchTopicOffsets('seven');
    expect(offsets.map((o) => Number(o.high)).sort()).toEqual([10, 10, 10, 10, 10, 10, 10]);

    const consumer = kafka.consumer({ groupId: 'broker-test', sessionTimeout: 3000, heartbeatInterval: 300, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topics: ['seven'], fromBeginning: true });
    const seen: string[] = [];
    const misplaced: string[] = [];
    const all = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          if (Number(message.headers!.n!.toString()) % 7 !== partition) misplaced.push(message.value!.toString());
          seen.push(message.value!.toString());
          if (seen.length === 70) resolve();
        },
      });
    });
    await all;
    await consumer.disconnect();
    expect(new Set(seen).size).toBe(70);
    expect(misplaced).toEqual([]);
  });

  it('stops cleanly: the process exits and its ports close', async () => {
    const other = await startMockKafka({ topics: [{ name: 't', partitions: 2 }] });
    const [address] = other.bootstrapServers;
    expect(await portOpen(address!)).toBe(true);
    await other.stop();
    await other.stop(); // idempotent
    expect(await portOpen(address!)).toBe(false);
    expect(() => process.kill(other.pid!, 0)).toThrow();
    await expect(other.createTopic('late', 1)).rejects.toThrow(/not running/);
  });

  it('fails fast with the host stderr on a bad topic spec', async () => {
    await expect(startMockKafka({ topics: [{ name: 'ok', partitions: 1 }, { name: 'ok', partitions: 1 }] })).rejects.toThrow(
      /exited with code 1[\s\S]*already exists/i,
    );
  });

  it('builds once into the cache for the route in force and reports the librdkafka it runs', async () => {
    const host = await ensureMockKafkaHost();
    expect(host.binary).toBe(hostBinary(chooseRoute().route));
    expect(host.binary).toMatch(/\/\.cache\/mock-kafka-host-/);
    // What the running library says matches the headers the host was compiled against.
    expect(broker.librdkafka.version).toBe(host.librdkafka);
    expect(await hostVersion(host.binary)).toBe(`librdkafka ${host.librdkafka}`);
    if (process.env.STREAMGUARD_LIBRDKAFKA === 'npm') expect(host).toMatchObject({ route: 'npm', librdkafka: '2.12.0', origin: 'npm node-rdkafka@3.6.1' });
  });

  it('names what to install when the toolchain is missing', () => {
    expect(new MockKafkaBuildError('the C compiler gcc was not found on PATH.').message).toMatch(
      process.platform === 'darwin' ? /xcode-select --install/ : /apt-get install -y gcc make/,
    );
  });
});
