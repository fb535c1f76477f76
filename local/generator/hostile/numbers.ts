/**
 * Hostile numbers (issue 11, item 3): values DynamoDB cannot store, which would block a partition
 * (an event time of 1e300) or take a whole window's write down with them (an amount of 1e-200),
 * and decimals whose double sums depend on how batches are cut (0.1 + 0.2). The first are
 * quarantined, record by record; the others are accepted, rounded to six places and summed exactly.
 */
import type { GeneratedRecord } from '../generate.ts';
import type { Random } from '../random.ts';
import type { StreamSpan } from './index.ts';
import { IOT_TELEMETRY, USER_EVENTS } from '../../../lib/pipelines/topics.ts';

export function numberRecords(rng: Random, span: StreamSpan): GeneratedRecord[] {
  const out: GeneratedRecord[] = [];
  const at = () => Math.floor(rng.between(span.startMs, span.endMs));
  const bad: [string, Record<string, unknown>, string][] = [];
  for (let n = 0; n < 4; n++) {
    const t = at();
    const user = 971_000_000 + n;
    const device = `sensor-n${n}`;
    bad.push(
      [USER_EVENTS, { user_id: user, action: 'payment', amount: 1e300, timestamp: t }, 'amount 1e300 (overflow)'],
      [USER_EVENTS, { user_id: user, action: 'payment', amount: 1e-200, timestamp: t }, 'amount 1e-200 (underflow)'],
      [USER_EVENTS, { user_id: user, action: 'payment', amount: '-1e-7', timestamp: t }, 'amount "-1e-7" (underflow)'],
      [IOT_TELEMETRY, { device_id: device, temperature: 1e-200, humidity: 40, timestamp: t }, 'temperature 1e-200 (underflow)'],
      [IOT_TELEMETRY, { device_id: device, temperature: 20, humidity: -1e300, timestamp: t }, 'humidity -1e300 (overflow)'],
    );
  }
  for (const [topic, body, why] of bad) {
    out.push({ topic: topic as GeneratedRecord['topic'], key: null, value: JSON.stringify(body), malformed: `hostile: ${why}`, eventTime: undefined });
  }
  // Accepted: decimals whose exact sum is not their double sum, in one window per user or sensor.
  for (let n = 0; n < 6; n++) {
    const t = at();
    const user = String(971_100_000 + n);
    for (const amount of [0.1, 0.2, 0.30000000000000004, '0.0000005', 2.675, 1e9 + 0.000001]) {
      out.push({ topic: USER_EVENTS, key: user, value: JSON.stringify({ user_id: user, action: 'payment', amount, timestamp: t }), eventTime: t });
    }
    for (const temperature of [21.1234565, -0.1, 0.3, 99.9999995]) {
      out.push({ topic: IOT_TELEMETRY, key: `sensor-m${n}`, value: JSON.stringify({ device_id: `sensor-m${n}`, temperature, humidity: 33.3333333, timestamp: t }), eventTime: t });
    }
  }
  return out;
}
