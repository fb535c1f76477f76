/**
 * AlertSink on Kafka: each alert produced to the alert topic with the window key as message key
 * and the alert id in a header and in the value, so consumers can drop redeliveries.
 */
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { Alert, AlertSink } from '../closer/ports.ts';

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
    await producer.send({
      topic: this.topic,
      acks: -1,
      messages: alerts.map((a) => ({ key: a.key, value: alertMessageValue(a), headers: { 'alert-id': a.id, 'alert-type': a.alertType } })),
    });
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
    this.producer = undefined;
  }
}
