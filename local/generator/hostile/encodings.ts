/**
 * Odd encodings of a value that Kafka can carry (issue 11, item 7): a UTF-8 byte-order mark before
 * the JSON is stripped and the record read; two of them are not JSON. Envelope faults (a value that
 * is not a string, a partition or offset that is not a number, invalid base64) cannot travel
 * through Kafka: test/integration/hostile-input.test.ts sends them to the real handler instead.
 */
import type { GeneratedRecord } from '../generate.ts';
import type { Random } from '../random.ts';
import type { StreamSpan } from './index.ts';
import { IOT_TELEMETRY, USER_EVENTS } from '../../../lib/pipelines/topics.ts';

export function encodingRecords(rng: Random, span: StreamSpan): GeneratedRecord[] {
  const out: GeneratedRecord[] = [];
  for (let n = 0; n < 8; n++) {
    const t = Math.floor(rng.between(span.startMs, span.endMs));
    const user = String(973_000_000 + n);
    const json = JSON.stringify({ user_id: user, action: 'payment', amount: 3.5, timestamp: t });
    out.push({ topic: USER_EVENTS, key: user, value: `\ufeff${json}`, eventTime: t });
    out.push({ topic: USER_EVENTS, key: user, value: `\ufeff\ufeff${json}`, malformed: 'hostile: two byte-order marks', eventTime: undefined });
    const reading = JSON.stringify({ device_id: `sensor-b${n}`, temperature: 18.5, humidity: 45, event_time: new Date(t).toISOString() });
    out.push({ topic: IOT_TELEMETRY, key: null, value: `\ufeff${reading}`, eventTime: t });
  }
  return out;
}
