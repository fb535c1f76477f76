/**
 * Malformed records: plausible values of a random topic broken the ways real producers break them
 * (invalid JSON, wrong types, missing or unparseable times, values past 100 KB). Each says why in
 * `malformed`; none touches any window state, since none parses.
 */
import { IOT_TELEMETRY, USER_EVENTS, USER_REGISTRATIONS } from '../../lib/pipelines/topics.ts';
import type { Resolved } from './options.ts';
import type { Stream } from './stream.ts';
import type { Body, GeneratedRecord, Topic } from './types.ts';
import { USER_ACTIONS, type World } from './world.ts';

type MalformedKind = 'invalid_json' | 'wrong_type' | 'missing_timestamp' | 'bad_timestamp' | 'huge_value';

export class Malformed {
  constructor(
    private readonly world: World,
    private readonly stream: Stream,
    private readonly o: Resolved,
  ) {}

  /** A plausible record of `topic` at event time t, before it is broken. */
  private draft(topic: Topic, t: number): [string, Body] {
    const world = this.world;
    const rng = world.rng;
    const s = this.stream.stamp(topic, t, this.o.start);
    if (topic === USER_EVENTS) {
      const user = world.user();
      const action = rng.weighted(USER_ACTIONS);
      return [String(user.id), world.userBody(user.id, action, user.homeDevice, user.homeCity, world.ipOf(user, user.homeCity), s)];
    }
    if (topic === USER_REGISTRATIONS) {
      const ip = world.ip();
      return [ip, { user_id: world.registeredUserId(), ip, device_id: `dev-${rng.hex(10)}`, [s.field]: s.value }];
    }
    const sensor = rng.pick(world.sensors);
    return [sensor.id, { device_id: sensor.id, ...world.reading(sensor), [s.field]: s.value }];
  }

  /** A malformed record at slot i. */
  record(i: number): GeneratedRecord {
    const rng = this.world.rng;
    const topic = this.stream.pickTopic()!;
    const [key, body] = this.draft(topic, this.stream.onTime(i));
    const kinds: [MalformedKind, number][] = [['invalid_json', 30], ['wrong_type', 25], ['missing_timestamp', 20], ['bad_timestamp', 17]];
    if (this.o.hugeValues) kinds.push(['huge_value', 8]);
    const kind = rng.weighted(kinds);
    let value: string;
    let why: string;
    const timeField = 'timestamp' in body ? 'timestamp' : 'event_time';
    switch (kind) {
      case 'invalid_json': {
        const json = JSON.stringify(body);
        const form = rng.pick(['truncated', 'single_quotes', 'trailing_comma', 'not_json', ...(topic === IOT_TELEMETRY ? ['nan'] : [])]);
        if (form === 'truncated') {
          // Any strict prefix of a JSON object is invalid: its closing brace is the last character.
          value = json.slice(0, rng.int(1, json.length - 1));
          why = 'invalid JSON: truncated';
        } else if (form === 'single_quotes') {
          value = json.replaceAll('"', "'");
          why = 'invalid JSON: single-quoted (Python repr)';
        } else if (form === 'trailing_comma') {
          value = `${json.slice(0, -1)},}`;
          why = 'invalid JSON: trailing comma';
        } else if (form === 'nan') {
          value = json.replace(/"temperature":[^,}]+/, '"temperature":NaN');
          why = 'invalid JSON: NaN literal';
        } else {
          value = Object.entries(body)
            .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
            .join('&');
          why = 'invalid JSON: form-encoded text';
        }
        break;
      }
      case 'wrong_type': {
        const copy: Body = { ...body };
        if (topic === USER_EVENTS) {
          if (rng.chance(0.6)) {
            copy.event_type = undefined;
            copy.action = 'payment';
            copy.amount = rng.pick(['lots', 'N/A', '¥12,50']);
            why = `wrong type: amount is ${JSON.stringify(copy.amount)}`;
          } else {
            copy.user_id = true;
            why = 'wrong type: user_id is a boolean';
          }
        } else if (topic === USER_REGISTRATIONS) {
          copy.ip = 3232235777;
          copy.ip_address = undefined;
          why = 'wrong type: ip is a number';
        } else if (rng.chance(0.5)) {
          copy.temperature = 'hot';
          why = 'wrong type: temperature is "hot"';
        } else {
          copy.humidity = null;
          why = 'wrong type: humidity is null';
        }
        value = JSON.stringify(copy);
        break;
      }
      case 'missing_timestamp': {
        const copy: Body = { ...body };
        delete copy.timestamp;
        delete copy.event_time;
        value = JSON.stringify(copy);
        why = 'missing timestamp';
        break;
      }
      case 'bad_timestamp': {
        const t = this.stream.onTime(i);
        const bad = rng.pick([
          new Date(t).toUTCString(),
          '23/11/2026 09:15:00',
          'yesterday',
          '2026-11-23T25:61:00Z',
          Math.floor(t / 1000),
        ]);
        value = JSON.stringify({ ...body, [timeField]: bad });
        why = typeof bad === 'number' ? `timestamp in epoch seconds: ${bad}` : `unparseable timestamp: ${JSON.stringify(bad)}`;
        break;
      }
      case 'huge_value': {
        const field = topic === USER_EVENTS ? 'location_city' : 'device_id';
        const chunk = rng.hex(64);
        const huge = chunk.repeat(Math.ceil(this.o.hugeValueChars / chunk.length)).slice(0, this.o.hugeValueChars);
        value = JSON.stringify({ ...body, [field]: huge });
        why = `huge value: ${field} is ${huge.length} characters`;
        break;
      }
    }
    return { topic, key: rng.chance(this.o.nullKeyRate) ? null : key, value, malformed: why, eventTime: undefined };
  }
}
