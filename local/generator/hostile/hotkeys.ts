/**
 * Hostile kind "hotkeys": keys whose distinct features pass their exact cap (500 by default,
 * lib/pipelines/features.ts), so verify checks the approximate counts against the reference's
 * error bound and that the alerts of such windows are still raised:
 * - one user with HOT_USER_DEVICES distinct devices (some of them 200-character ids, which the
 *   engine keeps by digest) and two cities in one risk window (1 hour): an account_risk alert;
 * - one IP with HOT_IP_USERS distinct users in one registrations window (10 minutes): a
 *   suspicious_ip alert.
 * Every record is well-formed; event times lie inside one window of each pipeline within the span.
 */
import type { GeneratedRecord } from '../generate.ts';
import type { Random } from '../random.ts';
import { USER_EVENTS, USER_REGISTRATIONS } from '../../../lib/pipelines/topics.ts';

export const HOT_USER_DEVICES = 1_200;
export const HOT_IP_USERS = 800;
/** Devices of the hot user with ids longer than the 128 bytes kept as they are. */
const LONG_DEVICE_IDS = 40;

const HOUR = 3_600_000;
const TEN_MINUTES = 600_000;

/** Event times for n events inside the window of `size` holding the span's middle (clipped to the span). */
function timesIn(rng: Random, span: { startMs: number; endMs: number }, size: number, n: number): number[] {
  const middle = Math.floor((span.startMs + span.endMs) / 2);
  const windowStart = middle - (((middle % size) + size) % size);
  const lo = Math.max(windowStart, span.startMs);
  const hi = Math.min(windowStart + size - 1, span.endMs);
  const times = Array.from({ length: n }, () => rng.int(lo, hi));
  return times.sort((a, b) => a - b);
}

/** The hot user's and the hot IP's records, in event-time order per key. */
export function hotkeysRecords(rng: Random, span: { startMs: number; endMs: number }): GeneratedRecord[] {
  const records: GeneratedRecord[] = [];
  const tag = rng.hex(6);

  const user = `hot-user-${tag}`;
  const cities = ['Lagos', 'Oslo'];
  timesIn(rng, span, HOUR, HOT_USER_DEVICES).forEach((t, i) => {
    const device = i < LONG_DEVICE_IDS ? `dev-${i}-${'x'.repeat(200)}` : `dev-${tag}-${i}`;
    const body = { user_id: user, action: 'view', device_id: device, location_city: cities[i % 2], ip_address: '198.51.100.9', timestamp: t };
    records.push({ topic: USER_EVENTS, key: user, value: JSON.stringify(body), eventTime: t });
  });

  const ip = `192.0.2.${rng.int(1, 254)}`;
  timesIn(rng, span, TEN_MINUTES, HOT_IP_USERS).forEach((t, i) => {
    const body = { user_id: `bot-${tag}-${i}`, ip, timestamp: t };
    records.push({ topic: USER_REGISTRATIONS, key: ip, value: JSON.stringify(body), eventTime: t });
  });
  return records;
}
