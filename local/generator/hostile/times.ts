/**
 * Hostile event times (issue 11, item 2): events dated far ahead of their Kafka timestamp, which
 * would raise their partition's watermark and make every later record late, and times no Date or
 * DynamoDB number can hold. The engine quarantines all of them; none may move a watermark.
 */
import type { GeneratedRecord, Topic } from '../generate.ts';
import type { Random } from '../random.ts';
import type { StreamSpan } from './index.ts';
import { IOT_TELEMETRY, USER_EVENTS, USER_REGISTRATIONS } from '../../../lib/pipelines/topics.ts';

const DAY = 86_400_000;

/** Bodies of each topic around a given time field value, with ids no background record uses. */
function body(rng: Random, topic: Topic, n: number, field: string, time: unknown): Record<string, unknown> {
  if (topic === USER_EVENTS) return { user_id: 970_000_000 + n, action: rng.pick(['payment', 'login']), amount: 12.5, [field]: time };
  if (topic === USER_REGISTRATIONS) return { user_id: 970_100_000 + n, ip: `198.51.100.${(n % 250) + 1}`, [field]: time };
  return { device_id: `sensor-t${n}`, temperature: 20, humidity: 40, [field]: time };
}

export function timeRecords(rng: Random, span: StreamSpan): GeneratedRecord[] {
  const times: [unknown, string][] = [
    ['2100-01-01T00:00:00.000Z', 'event time 2100-01-01, ahead of its Kafka timestamp'],
    [Date.parse('2100-01-01T00:00:00Z'), 'event time 2100-01-01 (epoch ms), ahead of its Kafka timestamp'],
    [span.endMs + 30 * DAY, 'event time 30 days ahead of its Kafka timestamp'],
    [new Date(span.endMs + 2 * DAY).toISOString(), 'event time 2 days ahead of its Kafka timestamp'],
    ['9999-12-31T23:59:59.999Z', 'event time 9999-12-31, the last representable, ahead of its Kafka timestamp'],
    [Number.MAX_SAFE_INTEGER, 'event time Number.MAX_SAFE_INTEGER, past what a Date holds'],
    [253402300800000, 'event time just past 9999-12-31'],
    [1e300, 'event time 1e300, past what DynamoDB stores'],
    ['1' + '0'.repeat(30), 'event time 1e30 as digits, past what DynamoDB stores'],
  ];
  const topics: Topic[] = [USER_EVENTS, USER_REGISTRATIONS, IOT_TELEMETRY];
  const out: GeneratedRecord[] = [];
  let n = 0;
  for (const [time, why] of times) {
    for (const topic of topics) {
      const value = body(rng, topic, n++, rng.chance(0.5) ? 'timestamp' : 'event_time', time);
      out.push({ topic, key: rng.chance(0.5) ? null : String(value.user_id ?? value.device_id), value: JSON.stringify(value), malformed: `hostile: ${why}`, eventTime: undefined });
    }
  }
  return out;
}
