import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeKafkaEvent, type KafkaEvent } from '../../lib/codec/kafka-event.ts';

const sample = (name: string) => JSON.parse(readFileSync(new URL(`../../events/${name}.json`, import.meta.url), 'utf8')) as KafkaEvent;

describe('decodeKafkaEvent', () => {
  it('decodes base64 keys and values and byte-array headers of an AWS-shaped event', () => {
    const [p0] = decodeKafkaEvent(sample('payments'));
    const first = p0![0]!;
    expect(first.partitionId).toBe('user_events-0');
    expect(first.key).toBe('1001');
    expect(JSON.parse(first.value!.toString())).toMatchObject({ user_id: 1001, event_type: 'payment' });
    expect(first.headers['trace-id']!.toString()).toBe('abc-123');
    expect(first.headers.source!.toString()).toBe('checkout');
  });

  it('treats an absent key and a null key alike, and a null value as a tombstone', () => {
    const event: KafkaEvent = {
      eventSource: 'SelfManagedKafka',
      bootstrapServers: 'b-1:9092',
      records: {
        'my-topic-with-dashes-7': [
          { topic: 'my-topic-with-dashes', partition: 7, offset: 11, timestamp: 1, timestampType: 'LOG_APPEND_TIME', value: 'e30=', headers: [] },
          { topic: 'my-topic-with-dashes', partition: 7, offset: 10, timestamp: 1, timestampType: 'CREATE_TIME', key: null, value: null },
        ],
      },
    };
    const [records] = decodeKafkaEvent(event);
    expect(records!.map((r) => r.offset)).toEqual([10, 11]);
    expect(records!.map((r) => r.key)).toEqual([undefined, undefined]);
    expect(records![0]!.value).toBeUndefined();
    expect(records![1]!.partitionId).toBe('my-topic-with-dashes-7');
  });
});
