/**
 * Builds the local Kafka's native host once per test run, before any worker starts, so test files
 * running in parallel never race to build it (on the npm route the first build takes minutes).
 */
import { ensureMockKafkaHost } from '../../local/broker/build.ts';

export async function setup(): Promise<void> {
  const host = await ensureMockKafkaHost({ log: (line) => console.log(line) });
  console.log(`local Kafka host: librdkafka ${host.librdkafka} (${host.origin}), ${host.binary}`);
}
