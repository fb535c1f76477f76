/**
 * How the alert sink reports a failed send to the closer: a message the topic refuses for good
 * (kafkajs's own protocol error, however wrapped) is AlertRejectedError, so the window is set
 * aside; anything else (a broker out of reach) stays as it is, and the window waits.
 */
import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSProtocolError, type Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { AlertRejectedError, type Alert } from '../../lib/closer/ports.ts';
import { KafkaAlertSink } from '../../lib/sinks/kafka-alert-sink.ts';

const alert: Alert = { id: 'a1', pipeline: 'payments', rule: 'r', alertType: 't', level: 'HIGH', key: '7', windowStart: 0, windowEnd: 300_000, features: { count: 11 }, raisedAt: 1 };

/** A Kafka client whose producer fails every send with `err` (the broker itself is not the subject). */
const failingKafka = (err: Error) => async () => ({ producer: () => ({ connect: async () => {}, send: async () => Promise.reject(err), disconnect: async () => {} }) }) as unknown as Kafka;

describe('KafkaAlertSink failures', () => {
  it('reports a message the topic refuses as AlertRejectedError, through kafkajs wrappers', async () => {
    // kafkajs's constructors take more than its typings say (src/errors.js): the protocol error's type, the wrapper's cause.
    const tooLarge = new (KafkaJSProtocolError as unknown as new (e: object) => Error)({ message: 'The request included a message larger than the max message size the server will accept', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false });
    // As kafkajs's retrier gives up on a non-retriable error (src/retry/index.js).
    for (const err of [tooLarge, new (KafkaJSNonRetriableError as unknown as new (e: Error, o: object) => Error)(tooLarge, { cause: tooLarge })]) {
      const sink = new KafkaAlertSink(failingKafka(err), 'fraud_alerts');
      await expect(sink.emit([alert])).rejects.toSatisfy((e) => e instanceof AlertRejectedError && /MESSAGE_TOO_LARGE/.test((e as Error).message) && /payments\/7\/0/.test((e as Error).message));
    }
  });

  it('passes other failures through unchanged', async () => {
    const down = new KafkaJSConnectionError('Connection timeout');
    const sink = new KafkaAlertSink(failingKafka(down), 'fraud_alerts');
    await expect(sink.emit([alert])).rejects.toBe(down);
  });
});
