/** Reads the alert topic back, as a downstream consumer would, deduplicating by alert id. */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';

export interface AlertMessage {
  id: string;
  pipeline: string;
  rule: string;
  alertType: string;
  level: string | null;
  key: string;
  windowStart: number;
  windowEnd: number;
  features: Record<string, unknown>;
  raisedAt: number;
}

export interface AlertTail {
  /** Unique alerts in arrival order. */
  alerts: AlertMessage[];
  /** Messages received, redeliveries included. */
  messages: number;
  /** By `alert-id` header: wall-clock ms the first message with that id was received. */
  receivedAt: Map<string, number>;
  /** Resolves once everything on the topic up to now has been read. */
  caughtUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function tailAlerts(brokers: string[], topic: string, onAlert: (a: AlertMessage) => void = () => {}): Promise<AlertTail> {
  const kafka = new Kafka({ clientId: 'streamguard-alert-tail', brokers, logLevel: logLevel.NOTHING });
  // Fetches wait at most 250 ms for data: receipt times are latency figures, and kafkajs's default
  // wait (5 s) would add up to that much to each, on a broker that answers a fetch only at its deadline.
  const consumer: Consumer = kafka.consumer({ groupId: `streamguard-alert-tail-${randomUUID()}`, sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 250 });
  const admin = kafka.admin();
  const seen = new Set<string>();
  const next = new Map<number, number>();
  const tail: AlertTail = {
    alerts: [],
    messages: 0,
    receivedAt: new Map(),
    async caughtUp(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      const ends = await admin.fetchTopicOffsets(topic);
      for (;;) {
        if (ends.every((e) => (next.get(e.partition) ?? 0) >= Number(e.high))) return;
        if (Date.now() > deadline) throw new Error(`alert topic "${topic}" not read to its end within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await consumer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    },
  };
  await Promise.all([consumer.connect(), admin.connect()]);
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const receivedAt = Date.now();
      next.set(partition, Number(message.offset) + 1);
      tail.messages++;
      const alert = JSON.parse(message.value!.toString('utf8')) as AlertMessage;
      // Matched by the header, as a consumer dedupes; the value's id stands in if a sink sends none.
      const header = message.headers?.['alert-id'];
      const headerId = header === undefined ? undefined : Array.isArray(header) ? header[0]?.toString() : header.toString();
      const id = headerId ?? alert.id;
      if (!tail.receivedAt.has(id)) tail.receivedAt.set(id, receivedAt);
      if (seen.has(alert.id)) return;
      seen.add(alert.id);
      tail.alerts.push(alert);
      onAlert(alert);
    },
  });
  return tail;
}
