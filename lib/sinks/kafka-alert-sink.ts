/**
 * AlertSink on Kafka: each alert produced to the alert topic with the window key as message key
 * and the alert id in a header and in the value, so consumers can drop redeliveries.
 */
import type { Kafka, Producer } from 'kafkajs';
import { AlertRejectedError, type Alert, type AlertSink } from '../closer/ports.ts';

/** Kafka protocol errors about the messages themselves, which no retry or later run can fix. */
const MESSAGE_REFUSED = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE']);

/** The Kafka error type behind a producer failure, looking through kafkajs's wrappers. */
function refusedType(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 5) return undefined;
  const e = err as { type?: unknown; originalError?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.type === 'string' && MESSAGE_REFUSED.has(e.type)) return e.type;
  for (const inner of [e.originalError, e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const t = refusedType(inner, depth + 1);
    if (t) return t;
  }
  return undefined;
}

/** The JSON value of an alert message (also one line of alerts.jsonl). */
export function alertMessageValue(a: Alert): string {
  return JSON.stringify({
    id: a.id,
    pipeline: a.pipeline,
    rule: a.rule,
    alertType: a.alertType,
    level: a.level ?? null,
    key: a.key,
    windowStart: a.windowStart,
    windowEnd: a.windowEnd,
    features: a.features,
    raisedAt: a.raisedAt,
  });
}

export class KafkaAlertSink implements AlertSink {
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;

  constructor(
    private readonly kafka: () => Promise<Kafka>,
    private readonly topic: string,
  ) {}

  /** Connects once per container and reuses the producer across invocations. */
  private async connected(): Promise<Producer> {
    if (this.producer) return this.producer;
    this.connecting ??= (async () => {
      // kafkajs itself is loaded with the client (lib/sinks/msk.ts), not at module initialisation.
      const { Partitioners } = await import('kafkajs');
      const producer = (await this.kafka()).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
      await producer.connect();
      this.producer = producer;
      return producer;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  async emit(alerts: Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    const producer = await this.connected();
    try {
      await producer.send({
        topic: this.topic,
        acks: -1,
        messages: alerts.map((a) => ({ key: a.key, value: alertMessageValue(a), headers: { 'alert-id': a.id, 'alert-type': a.alertType } })),
      });
    } catch (err) {
      // Refused for what the messages are (too large for the topic): the dispatcher names the record for its mapping's on-failure queue.
      const type = refusedType(err);
      if (type) throw new AlertRejectedError(`alert topic "${this.topic}" refused the alerts of window ${alerts[0]!.pipeline}/${alerts[0]!.key}/${alerts[0]!.windowStart}: ${type}`, { cause: err });
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
    this.producer = undefined;
  }
}
