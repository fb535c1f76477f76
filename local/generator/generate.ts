/**
 * A deterministic event generator for the four built-in pipelines (docs/design.md, "The pipelines").
 *
 * It produces realistic background traffic that stays clean with respect to the default rules,
 * injects fraud scenarios whose windows and expected outcomes it reports, and mixes in
 * out-of-order, late and malformed records. Everything derives from `seed`: the same options give
 * byte-identical records. The result is in production order, ready for {@link produceRecords}.
 */
import { DEFAULT_WATERMARK_DELAY_MS } from '../../lib/config/deployment.ts';
import { Random, Zipf } from './random.ts';

/** The source topics, as the source system names them. */
export type Topic = 'user_events' | 'user_registrations' | 'iot_telemetry';
export const TOPICS: readonly Topic[] = ['user_events', 'user_registrations', 'iot_telemetry'];

/** One Kafka record to produce. */
export interface GeneratedRecord {
  topic: Topic;
  /** Kafka key (user id, IP or device id as text); null for some records, as real producers do. */
  key: string | null;
  /** The exact value bytes as text: JSON for good records, anything for malformed ones. */
  value: string;
  /** Why the record is malformed; absent for good records. */
  malformed?: string;
  /** The event time a correct decoder reads from `value` (epoch ms); undefined for malformed records. */
  eventTime: number | undefined;
  /** Set when the event time is far enough behind the stream that its window has already closed. */
  late?: boolean;
  /** Index into `scenarios` of the injected scenario this record belongs to. */
  scenario?: number;
  /**
   * The Kafka record timestamp to produce it with (epoch ms): the stream time the record is
   * produced at, and never before its event time, so that ingest's bound on events ahead of their
   * Kafka timestamp (MAX_EVENT_AHEAD_MS) judges generated records as their producer meant them,
   * whatever the wall clock reads. Absent: the producer's clock.
   */
  timestamp?: number;
}

export type ScenarioKind = 'registration_burst' | 'device_city_switch' | 'login_storm' | 'payment_spree' | 'iot_out_of_range';
export type PipelineName = 'registrations' | 'risk' | 'payments' | 'iot';

/** A fraud pattern injected into the stream, with the window in which a rule must fire. */
export interface InjectedScenario {
  kind: ScenarioKind;
  /** The pipeline whose default rule must fire. */
  pipeline: PipelineName;
  /** The pipeline key (IP, user id or device id) the alert is for. */
  key: string;
  /** The tumbling window (epoch ms, end exclusive) holding every event of the scenario. */
  windowStart: number;
  windowEnd: number;
  /** Risk level the risk pipeline must assign (risk scenarios only). */
  expectedLevel?: 'HIGH' | 'MEDIUM';
  /** Number of records injected for the scenario. */
  events: number;
  /** What was injected, for humans. */
  detail: string;
}

export interface GenerateOptions {
  /** Total records to generate, malformed and late ones included. */
  events: number;
  seed: number;
  /** Epoch ms of the first event time (default 2026-11-23T09:00:00Z). */
  start?: number;
  /** Event-time pace: records per second of event time (default 5, so 50,000 records span ~2.8 h). */
  eventsPerSecondOfEventTime?: number;
  /** Relative share of each topic in background traffic (default 0.5 / 0.2 / 0.3). */
  topicShare?: Partial<Record<Topic, number>>;
  /** Share of malformed records (default 0.005). */
  malformedRate?: number;
  /** Include 100 KB+ values among malformed records (default true). */
  hugeValues?: boolean;
  /** Length of the oversized field in a huge value (default 120,000 characters). */
  hugeValueChars?: number;
  /** Share of late records (default 0.002). */
  lateRate?: number;
  /** How far behind the stream a late record's event time lies: [min, max] ms (default 30-90 min). */
  lateByMs?: readonly [number, number];
  /** Watermark delay the late records are designed to miss (default 10 min, as in docs/design.md). */
  watermarkDelayMs?: number;
  /** Largest out-of-order lag of an on-time record behind the stream (default 60 s). */
  maxJitterMs?: number;
  /** Share of background records produced with a null key (default 0.02). */
  nullKeyRate?: number;
  /** Scenarios injected per kind (default 0 below 2,000 records, else max(1, round(events / 10,000))). */
  scenariosPerKind?: number;
}

/** Option values used when an option is not given. */
export const GENERATOR_DEFAULTS = {
  start: Date.UTC(2026, 10, 23, 9, 0, 0),
  eventsPerSecondOfEventTime: 5,
  topicShare: { user_events: 0.5, user_registrations: 0.2, iot_telemetry: 0.3 } as Record<Topic, number>,
  malformedRate: 0.005,
  hugeValues: true,
  hugeValueChars: 120_000,
  lateRate: 0.002,
  lateByMs: [30 * 60_000, 90 * 60_000] as readonly [number, number],
  watermarkDelayMs: DEFAULT_WATERMARK_DELAY_MS,
  maxJitterMs: 60_000,
  nullKeyRate: 0.02,
} as const;

/** Scenarios per kind when `scenariosPerKind` is not given. */
export function defaultScenariosPerKind(events: number): number {
  return events >= 2000 ? Math.max(1, Math.round(events / 10_000)) : 0;
}

export interface GenerateResult {
  records: GeneratedRecord[];
  scenarios: InjectedScenario[];
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

// Window sizes and default thresholds of the built-in pipelines (docs/design.md). Background traffic
// stays at or under each threshold, so every alert traces back to an injected scenario.
const WINDOW_MS: Record<PipelineName, number> = { payments: 5 * MINUTE, risk: HOUR, registrations: 10 * MINUTE, iot: MINUTE };
const MAX_LOGINS_PER_HOUR = 5;
const MAX_PAYMENTS_PER_5_MIN = 10;
const MAX_REGISTRATIONS_PER_10_MIN = 20;

// A late record must miss every window of its topic, so the longest one decides.
const LONGEST_WINDOW: Record<Topic, number> = { user_events: HOUR, user_registrations: 10 * MINUTE, iot_telemetry: MINUTE };

const CITIES = [
  'Shanghai', 'Beijing', 'Shenzhen', 'Guangzhou', 'Hangzhou', 'Chengdu', 'Wuhan', "Xi'an", 'Nanjing', 'Chongqing',
  'Tianjin', 'Suzhou', 'Hong Kong', 'Singapore', 'Tokyo', 'Seoul', 'London', 'Paris', 'Berlin', 'Amsterdam',
  'New York', 'San Francisco', 'Seattle', 'Toronto', 'Sydney', 'Mumbai', 'Dubai', 'São Paulo', 'Madrid', 'Stockholm',
];

const USER_ACTIONS: readonly (readonly [string, number])[] = [
  ['view', 50], ['login', 14], ['payment', 14], ['logout', 8], ['add_to_cart', 8], ['search', 6],
];

export const windowStartOf = (t: number, size: number): number => t - (((t % size) + size) % size);

// First octets that would collide with private, reserved or the scenario's documentation ranges.
const RESERVED_OCTETS = new Set([0, 10, 100, 127, 169, 172, 192, 198, 203]);

function publicIp(rng: Random): string {
  let a: number;
  do a = rng.int(1, 223);
  while (RESERVED_OCTETS.has(a));
  return `${a}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** Scenario IPs come from documentation ranges no background IP uses. */
function scenarioIp(n: number): string {
  return n < 254 ? `203.0.113.${n + 1}` : `198.18.${Math.floor(n / 254) % 256}.${(n % 254) + 1}`;
}

function isoWithOffset(t: number, offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return new Date(t + offsetMinutes * MINUTE).toISOString().slice(0, 23) + `${sign}${hh}:${mm}`;
}

interface User {
  id: number;
  homeCity: string;
  travelCity: string | undefined;
  homeDevice: string;
  otherDevice: string | undefined;
  ipByCity: Map<string, string>;
}

interface Sensor {
  id: string;
  temperature: number;
  humidity: number;
}

interface RiskWindow {
  devices: string[];
  cities: string[];
  logins: number;
}

type Body = Record<string, unknown>;

interface Stamped {
  t: number;
  field: string;
  value: string | number;
}

interface Planned {
  topic: Topic;
  key: string | null;
  eventTime: number;
  body: Body;
  scenario: number;
}

interface Resolved extends Required<Omit<GenerateOptions, 'topicShare' | 'scenariosPerKind'>> {
  topicShare: Record<Topic, number>;
  scenariosPerKind: number;
}

function resolve(options: GenerateOptions): Resolved {
  const o: Resolved = {
    ...GENERATOR_DEFAULTS,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    topicShare: { ...GENERATOR_DEFAULTS.topicShare, ...options.topicShare },
    scenariosPerKind: options.scenariosPerKind ?? defaultScenariosPerKind(options.events),
  } as Resolved;
  const positiveInt = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  const rate = (name: string, v: number) => {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be within [0, 1], got ${v}`);
  };
  positiveInt('events', o.events, 0);
  positiveInt('scenariosPerKind', o.scenariosPerKind, 0);
  positiveInt('start', o.start, 0);
  if (!(o.eventsPerSecondOfEventTime > 0)) throw new RangeError('eventsPerSecondOfEventTime must be > 0');
  rate('malformedRate', o.malformedRate);
  rate('lateRate', o.lateRate);
  rate('nullKeyRate', o.nullKeyRate);
  if (!(o.maxJitterMs >= 0)) throw new RangeError('maxJitterMs must be >= 0');
  if (!(o.lateByMs[0] > 0 && o.lateByMs[1] >= o.lateByMs[0])) throw new RangeError('lateByMs must be [min, max] with 0 < min <= max');
  if (TOPICS.some((t) => !(o.topicShare[t] >= 0)) || TOPICS.every((t) => o.topicShare[t] === 0)) {
    throw new RangeError('topicShare needs non-negative shares, not all zero');
  }
  return o;
}

/**
 * Generates `options.events` Kafka records for `user_events`, `user_registrations` and
 * `iot_telemetry`, in production order, plus the fraud scenarios injected among them.
 *
 * Record `i` is "produced" at stream time `start + i / eventsPerSecondOfEventTime`; on-time records
 * carry an event time up to `maxJitterMs` behind that, late ones `lateByMs` behind and always in a
 * window that a `watermarkDelayMs` watermark has already closed. Background traffic never exceeds a
 * default rule threshold; each scenario exceeds exactly its own, with all of its records inside its
 * window, on time and well formed.
 *
 * Pure and deterministic: the same options give byte-identical output.
 *
 * @throws RangeError on invalid options, or when the scenarios do not fit in `events`.
 */
export function generate(options: GenerateOptions): GenerateResult {
  return new Generator(resolve(options)).run();
}

class Generator {
  private readonly rng: Random;
  private readonly n: number;
  private readonly stepMs: number;
  private readonly spanEnd: number;

  private readonly users: User[];
  private readonly userZipf: Zipf;
  private readonly cityZipf: Zipf;
  private readonly ips: string[];
  private readonly ipZipf: Zipf;
  private readonly sensors: Sensor[];
  private nextRegisteredUser = 20_000_000;

  private readonly riskWindows = new Map<string, RiskWindow>();
  private readonly paymentWindows = new Map<string, number>();
  private readonly registrationWindows = new Map<string, number>();

  private readonly slots: Int32Array;
  private readonly planned: Planned[] = [];
  private readonly scenarios: InjectedScenario[] = [];

  constructor(private readonly o: Resolved) {
    this.rng = new Random(o.seed);
    this.n = o.events;
    this.stepMs = 1000 / o.eventsPerSecondOfEventTime;
    this.spanEnd = this.arrival(Math.max(0, this.n - 1));
    this.slots = new Int32Array(this.n).fill(FREE);
    const rng = this.rng;

    this.cityZipf = new Zipf(CITIES.length, 1.1);
    const userCount = Math.max(100, Math.ceil(this.n / 15));
    this.users = [];
    for (let i = 0; i < userCount; i++) {
      const homeCity = CITIES[this.cityZipf.sample(rng)]!;
      let travelCity: string | undefined;
      if (rng.chance(0.25)) {
        do travelCity = CITIES[this.cityZipf.sample(rng)]!;
        while (travelCity === homeCity);
      }
      this.users.push({
        id: 100_000 + i,
        homeCity,
        travelCity,
        homeDevice: `dev-${rng.hex(10)}`,
        otherDevice: rng.chance(0.4) ? `dev-${rng.hex(10)}` : undefined,
        ipByCity: new Map(),
      });
    }
    // Hot users should not simply be the lowest ids.
    rng.shuffle(this.users);
    this.userZipf = new Zipf(userCount, 0.9);

    this.ips = [];
    for (let i = Math.max(50, Math.ceil(this.n / 25)); i > 0; i--) this.ips.push(publicIp(rng));
    this.ipZipf = new Zipf(this.ips.length, 0.9);

    this.sensors = [];
    for (let i = 1, count = Math.max(20, Math.ceil(this.n / 150)); i <= count; i++) {
      this.sensors.push({
        id: `sensor-${String(i).padStart(5, '0')}`,
        temperature: Math.round(rng.between(5, 35) * 10) / 10,
        humidity: Math.round(rng.between(25, 75) * 10) / 10,
      });
    }
  }

  private arrival(i: number): number {
    return this.o.start + Math.floor(i * this.stepMs);
  }

  run(): GenerateResult {
    this.planScenarios();
    const malformed = new Set<number>();
    const late = new Set<number>();
    this.pickSlots(late, Math.round(this.n * this.o.lateRate), (i) => this.lateEligible(i));
    this.pickSlots(malformed, Math.round(this.n * this.o.malformedRate), () => true, late);

    const records: GeneratedRecord[] = new Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const owner = this.slots[i]!;
      if (owner !== FREE) {
        const p = this.planned[owner]!;
        records[i] = { topic: p.topic, key: p.key, value: JSON.stringify(p.body), eventTime: p.eventTime, scenario: p.scenario };
      } else if (malformed.has(i)) {
        records[i] = this.malformed(i);
      } else if (late.has(i)) {
        records[i] = this.late(i) ?? this.background(i);
      } else {
        records[i] = this.background(i);
      }
      const r = records[i]!;
      r.timestamp = Math.max(this.arrival(i), r.eventTime ?? -Infinity);
    }
    return { records, scenarios: this.scenarios };
  }

  // ---------------------------------------------------------------------------------------------
  // Time

  /** Picks a spelling and format for an event time; whole-second formats round down, never below `notBefore`. */
  private stamp(topic: Topic, t: number, notBefore: number): Stamped {
    const rng = this.rng;
    const field = rng.chance(topic === 'iot_telemetry' ? 0.85 : topic === 'user_events' ? 0.5 : 0.4) ? 'timestamp' : 'event_time';
    const r = rng.float();
    if (r < 0.4) return { t, field, value: new Date(t).toISOString() };
    if (r < 0.75) return { t, field, value: t };
    // The source system is in China: some producers send local time with an explicit offset.
    if (r < 0.85) return { t, field, value: isoWithOffset(t, 8 * 60) };
    if (r < 0.95) {
      const s = Math.floor(t / 1000) * 1000;
      if (s >= notBefore) return { t: s, field, value: new Date(s).toISOString().replace('.000Z', 'Z') };
      return { t, field, value: new Date(t).toISOString() };
    }
    return { t, field, value: String(t) };
  }

  /** Event time of an on-time background record at slot i: a little behind the stream. */
  private onTime(i: number): number {
    const now = this.arrival(i);
    // Near the start the lag is capped so that no event predates `start`.
    return now - Math.floor(this.rng.float() * Math.min(this.o.maxJitterMs, now - this.o.start + 1));
  }

  /**
   * Event-time range for a late record of `topic` at slot i: lateByMs behind the stream and inside
   * a window that ended before the watermark (stream - delay). Both are measured from the oldest
   * event time the previous record could carry (jitter, whole-second rounding), with a spare minute
   * so that the lagging partitions of a min-over-partitions watermark have passed it too.
   */
  private lateRange(topic: Topic, i: number): [number, number] | undefined {
    const now = this.arrival(i) - Math.ceil(this.stepMs) - this.o.maxJitterMs - 1000;
    const closedBefore = windowStartOf(now - this.o.watermarkDelayMs - MINUTE, LONGEST_WINDOW[topic]);
    const hi = Math.min(now - this.o.lateByMs[0], closedBefore - 1);
    const lo = Math.max(this.o.start, now - this.o.lateByMs[1]);
    return hi >= lo ? [lo, hi] : undefined;
  }

  private lateEligible(i: number): boolean {
    return TOPICS.some((t) => this.o.topicShare[t] > 0 && this.lateRange(t, i) !== undefined);
  }

  // ---------------------------------------------------------------------------------------------
  // Slots

  /** Reserves up to `count` random free slots; short streams may have too few eligible ones. */
  private pickSlots(into: Set<number>, count: number, eligible: (i: number) => boolean, taken?: Set<number>): void {
    if (this.n === 0) return;
    for (let attempts = 0; into.size < count && attempts < count * 30; attempts++) {
      const i = this.rng.int(0, this.n - 1);
      if (this.slots[i] === FREE && !into.has(i) && !taken?.has(i) && eligible(i)) into.add(i);
    }
  }

  /**
   * Places a scenario record with event time t at a slot produced no earlier than t and at most
   * maxJitterMs after it, so it is ordinary out-of-order traffic, never late.
   */
  private place(p: Planned): void {
    const first = Math.max(0, Math.ceil((p.eventTime - this.o.start) / this.stepMs));
    const last = Math.min(this.n - 1, Math.floor((p.eventTime + this.o.maxJitterMs - this.o.start) / this.stepMs));
    const index = this.planned.push(p) - 1;
    const width = last - first + 1;
    const from = width > 0 ? first + Math.floor(this.rng.float() * width) : Math.min(first, this.n - 1);
    for (let k = 0; k < width; k++) {
      const i = first + ((from - first + k) % width);
      if (this.slots[i] === FREE) {
        this.slots[i] = index;
        return;
      }
    }
    // The jitter range is full (very dense scenarios): take the nearest free slot after, then before.
    for (let i = Math.max(last + 1, 0); i < this.n; i++) {
      if (this.slots[i] === FREE) {
        this.slots[i] = index;
        return;
      }
    }
    for (let i = Math.min(first - 1, this.n - 1); i >= 0; i--) {
      if (this.slots[i] === FREE) {
        this.slots[i] = index;
        return;
      }
    }
    throw new RangeError('no free slot left for a scenario record');
  }

  // ---------------------------------------------------------------------------------------------
  // Scenarios

  private planScenarios(): void {
    const k = this.o.scenariosPerKind;
    if (k === 0) return;
    const specs: ScenarioSpec[] = [];
    for (let n = 0; n < k; n++) {
      specs.push(this.registrationBurst(n), this.deviceCitySwitch(n), this.loginStorm(n), this.paymentSpree(n), this.iotOutOfRange(n));
    }
    const total = specs.reduce((s, spec) => s + spec.events.length, 0);
    if (total > this.n / 2) {
      throw new RangeError(`${k} scenarios per kind need ${total} records, more than half of events=${this.n}; lower scenariosPerKind`);
    }
    // Scenarios are listed in event-time order so a reader can follow the stream.
    specs.sort((a, b) => a.scenario.windowStart - b.scenario.windowStart || (a.scenario.kind < b.scenario.kind ? -1 : a.scenario.kind > b.scenario.kind ? 1 : 0));
    specs.forEach((spec, index) => {
      this.scenarios.push({ ...spec.scenario, events: spec.events.length });
      for (const e of spec.events) this.place({ ...e, scenario: index });
    });
  }

  /**
   * Chooses a window of `windowMs` within the stream and `count` sorted event times inside it,
   * spread over at most `spreadMs`, and never later than the stream's end minus the jitter (so a
   * slot produced after each of them exists); when the stream allows, the window ends before the
   * last watermark (stream end minus the delay), so it closes within the run.
   */
  private scenarioTimes(windowMs: number, spreadMs: number, count: number, topic: Topic): { windowStart: number; stamps: Stamped[] } {
    const rng = this.rng;
    const latest = Math.max(this.o.start, this.spanEnd - this.o.maxJitterMs);
    // Where the stream is long enough, end the window early enough for the watermark (stream end
    // minus the delay) to pass it: an injected scenario should be observable, not cut off by the end.
    const observable = this.spanEnd - this.o.watermarkDelayMs - this.o.maxJitterMs - windowMs;
    const anchor = Math.floor(rng.between(this.o.start, (observable > this.o.start ? observable : latest) + 1));
    const windowStart = windowStartOf(anchor, windowMs);
    const lo = Math.max(windowStart, this.o.start);
    const hi = Math.max(lo, Math.min(windowStart + windowMs - 1, latest));
    const spread = Math.min(spreadMs, hi - lo);
    const t0 = lo + Math.floor(rng.float() * (hi - lo - spread + 1));
    const times: number[] = [];
    for (let i = 0; i < count; i++) times.push(t0 + Math.floor(rng.float() * (spread + 1)));
    times.sort((a, b) => a - b);
    return { windowStart, stamps: times.map((t) => this.stamp(topic, t, lo)) };
  }

  private registrationBurst(n: number): ScenarioSpec {
    const rng = this.rng;
    const ip = scenarioIp(n);
    const count = rng.int(25, 40);
    const { windowStart, stamps } = this.scenarioTimes(WINDOW_MS.registrations, rng.int(2, 6) * MINUTE, count, 'user_registrations');
    // A bot farm reuses a handful of devices.
    const devices = Array.from({ length: rng.int(1, 4) }, () => `dev-${rng.hex(10)}`);
    return {
      scenario: {
        kind: 'registration_burst',
        pipeline: 'registrations',
        key: ip,
        windowStart,
        windowEnd: windowStart + WINDOW_MS.registrations,
        detail: `${count} registrations from ${ip} (${devices.length} devices)`,
      },
      events: stamps.map((s) => ({
        topic: 'user_registrations',
        key: ip,
        eventTime: s.t,
        body: { user_id: this.registeredUserId(), ip, device_id: rng.pick(devices), [s.field]: s.value },
      })),
    };
  }

  private deviceCitySwitch(n: number): ScenarioSpec {
    const rng = this.rng;
    const userId = 900_100_000 + n;
    const count = rng.int(6, 10);
    const { windowStart, stamps } = this.scenarioTimes(WINDOW_MS.risk, rng.int(20, 50) * MINUTE, count, 'user_events');
    const devices = [`dev-${rng.hex(10)}`, `dev-${rng.hex(10)}`];
    const homeCity = CITIES[this.cityZipf.sample(rng)]!;
    let otherCity: string;
    do otherCity = rng.pick(CITIES);
    while (otherCity === homeCity);
    const cities = [homeCity, otherCity];
    const switchAt = rng.int(2, count - 2);
    const ips = [publicIp(rng), publicIp(rng)];
    const events = stamps.map((s, i) => {
      const side = i < switchAt ? 0 : 1;
      // Each session starts with a login; the rest is browsing and a couple of payments.
      const action = i === 0 || i === switchAt ? 'login' : rng.weighted([['view', 3], ['payment', 1]] as const);
      return this.scenarioUserEvent(userId, action, s, devices[side]!, cities[side]!, ips[side]!);
    });
    return {
      scenario: {
        kind: 'device_city_switch',
        pipeline: 'risk',
        key: String(userId),
        windowStart,
        windowEnd: windowStart + WINDOW_MS.risk,
        expectedLevel: 'HIGH',
        detail: `user ${userId}: ${devices[0]} in ${cities[0]}, then ${devices[1]} in ${cities[1]} (${count} events)`,
      },
      events,
    };
  }

  private loginStorm(n: number): ScenarioSpec {
    const rng = this.rng;
    const userId = 900_200_000 + n;
    const logins = rng.int(8, 12);
    const views = rng.int(0, 3);
    const { windowStart, stamps } = this.scenarioTimes(WINDOW_MS.risk, rng.int(10, 45) * MINUTE, logins + views, 'user_events');
    const device = `dev-${rng.hex(10)}`;
    const city = CITIES[this.cityZipf.sample(rng)]!;
    const ip = publicIp(rng);
    const actions = rng.shuffle([...Array<string>(logins).fill('login'), ...Array<string>(views).fill('view')]);
    return {
      scenario: {
        kind: 'login_storm',
        pipeline: 'risk',
        key: String(userId),
        windowStart,
        windowEnd: windowStart + WINDOW_MS.risk,
        expectedLevel: 'MEDIUM',
        detail: `user ${userId}: ${logins} logins from ${device} in ${city}`,
      },
      events: stamps.map((s, i) => this.scenarioUserEvent(userId, actions[i]!, s, device, city, ip)),
    };
  }

  private paymentSpree(n: number): ScenarioSpec {
    const rng = this.rng;
    const userId = 900_300_000 + n;
    const count = rng.int(12, 20);
    const { windowStart, stamps } = this.scenarioTimes(WINDOW_MS.payments, rng.int(60, 240) * 1000, count, 'user_events');
    const device = `dev-${rng.hex(10)}`;
    const city = CITIES[this.cityZipf.sample(rng)]!;
    const ip = publicIp(rng);
    return {
      scenario: {
        kind: 'payment_spree',
        pipeline: 'payments',
        key: String(userId),
        windowStart,
        windowEnd: windowStart + WINDOW_MS.payments,
        detail: `user ${userId}: ${count} payments`,
      },
      events: stamps.map((s) => this.scenarioUserEvent(userId, 'payment', s, device, city, ip)),
    };
  }

  private iotOutOfRange(n: number): ScenarioSpec {
    const rng = this.rng;
    const deviceId = `sensor-x${String(n + 1).padStart(4, '0')}`;
    const bad = rng.int(4, 8);
    const good = rng.int(0, 3);
    const { windowStart, stamps } = this.scenarioTimes(WINDOW_MS.iot, rng.int(10, 45) * 1000, bad + good, 'iot_telemetry');
    const kinds = rng.shuffle([...Array<boolean>(bad).fill(true), ...Array<boolean>(good).fill(false)]);
    const fault = rng.pick(['overheat', 'frozen', 'humidity'] as const);
    return {
      scenario: {
        kind: 'iot_out_of_range',
        pipeline: 'iot',
        key: deviceId,
        windowStart,
        windowEnd: windowStart + WINDOW_MS.iot,
        detail: `${deviceId}: ${bad} out-of-range readings (${fault}), ${good} in range`,
      },
      events: stamps.map((s, i) => {
        let temperature = Math.round(rng.between(18, 30) * 10) / 10;
        let humidity = Math.round(rng.between(30, 60) * 10) / 10;
        if (kinds[i]) {
          if (fault === 'overheat') temperature = Math.round(rng.between(100.5, 250) * 10) / 10;
          else if (fault === 'frozen') temperature = Math.round(rng.between(-90, -40.5) * 10) / 10;
          else humidity = rng.chance(0.5) ? Math.round(rng.between(100.5, 140) * 10) / 10 : Math.round(rng.between(-20, -0.5) * 10) / 10;
        }
        return { topic: 'iot_telemetry', key: deviceId, eventTime: s.t, body: { device_id: deviceId, temperature, humidity, [s.field]: s.value } };
      }),
    };
  }

  private scenarioUserEvent(userId: number, action: string, s: Stamped, device: string, city: string, ip: string): Omit<Planned, 'scenario'> {
    return { topic: 'user_events', key: String(userId), eventTime: s.t, body: this.userBody(userId, action, device, city, ip, s) };
  }

  // ---------------------------------------------------------------------------------------------
  // Background traffic

  private pickTopic(allowed: (t: Topic) => boolean = () => true): Topic | undefined {
    const entries = TOPICS.filter((t) => this.o.topicShare[t] > 0 && allowed(t)).map((t) => [t, this.o.topicShare[t]] as const);
    return entries.length ? this.rng.weighted(entries) : undefined;
  }

  private background(i: number): GeneratedRecord {
    return this.good(this.pickTopic()!, this.onTime(i));
  }

  private late(i: number): GeneratedRecord | undefined {
    const topic = this.pickTopic((t) => this.lateRange(t, i) !== undefined);
    if (!topic) return undefined;
    const [lo, hi] = this.lateRange(topic, i)!;
    return { ...this.good(topic, lo + Math.floor(this.rng.float() * (hi - lo + 1))), late: true };
  }

  /** A well-formed background record at event time t that keeps every window under its rule's threshold. */
  private good(topic: Topic, t: number): GeneratedRecord {
    const s = this.stamp(topic, t, this.o.start);
    const nullKey = this.rng.chance(this.o.nullKeyRate);
    let key: string;
    let body: Body;
    if (topic === 'user_events') [key, body] = this.backgroundUserEvent(s);
    else if (topic === 'user_registrations') [key, body] = this.backgroundRegistration(s);
    else [key, body] = this.backgroundReading(s);
    return { topic, key: nullKey ? null : key, value: JSON.stringify(body), eventTime: s.t };
  }

  private ipOf(user: User, city: string): string {
    let ip = user.ipByCity.get(city);
    if (!ip) user.ipByCity.set(city, (ip = publicIp(this.rng)));
    return ip;
  }

  private userBody(userId: number, action: string, device: string, city: string, ip: string, s: Stamped, amount?: number): Body {
    const rng = this.rng;
    const body: Body = {
      user_id: rng.chance(0.7) ? userId : String(userId),
      [rng.chance(0.5) ? 'action' : 'event_type']: action,
    };
    if (action === 'payment') {
      const value = amount ?? this.amount();
      // Some producers quote decimals; the schema accepts numeric strings.
      body.amount = rng.chance(0.05) ? value.toFixed(2) : value;
    }
    body[rng.chance(0.95) ? 'ip_address' : 'ip'] = ip;
    body.device_id = device;
    body[rng.chance(0.95) ? 'location_city' : 'city'] = city;
    body[s.field] = s.value;
    return body;
  }

  private amount(): number {
    return Math.max(0.5, Math.round(Math.exp(3.5 + this.rng.normal()) * 100) / 100);
  }

  private backgroundUserEvent(s: Stamped): [string, Body] {
    const rng = this.rng;
    const user = this.users[this.userZipf.sample(rng)]!;
    let device = user.otherDevice && rng.chance(0.15) ? user.otherDevice : user.homeDevice;
    let city = user.travelCity && rng.chance(0.08) ? user.travelCity : user.homeCity;

    const hourKey = `${user.id}|${windowStartOf(s.t, WINDOW_MS.risk)}`;
    let w = this.riskWindows.get(hourKey);
    if (!w) this.riskWindows.set(hourKey, (w = { devices: [], cities: [], logins: 0 }));
    // A second device or a second city in an hour is normal; both at once is the HIGH-risk
    // pattern, so keep whichever dimension the window has not yet varied in.
    const newDevice = !w.devices.includes(device);
    const newCity = !w.cities.includes(city);
    if (w.devices.length + (newDevice ? 1 : 0) > 1 && w.cities.length + (newCity ? 1 : 0) > 1) {
      if (w.devices.length === 1) device = w.devices[0]!;
      else city = w.cities[0]!;
    }
    if (!w.devices.includes(device)) w.devices.push(device);
    if (!w.cities.includes(city)) w.cities.push(city);

    let action = rng.weighted(USER_ACTIONS);
    if (action === 'login') {
      if (w.logins >= MAX_LOGINS_PER_HOUR) action = 'view';
      else w.logins++;
    }
    if (action === 'payment') {
      const payKey = `${user.id}|${windowStartOf(s.t, WINDOW_MS.payments)}`;
      const paid = this.paymentWindows.get(payKey) ?? 0;
      if (paid >= MAX_PAYMENTS_PER_5_MIN) action = 'view';
      else this.paymentWindows.set(payKey, paid + 1);
    }
    return [String(user.id), this.userBody(user.id, action, device, city, this.ipOf(user, city), s)];
  }

  private registeredUserId(): number {
    return this.nextRegisteredUser++;
  }

  private backgroundRegistration(s: Stamped): [string, Body] {
    const rng = this.rng;
    const window = windowStartOf(s.t, WINDOW_MS.registrations);
    const full = (ip: string) => (this.registrationWindows.get(`${ip}|${window}`) ?? 0) >= MAX_REGISTRATIONS_PER_10_MIN;
    let ip = this.ips[this.ipZipf.sample(rng)]!;
    // A popular IP (a carrier NAT) that has reached the threshold hands over to another one.
    for (let tries = 0; full(ip) && tries < 8; tries++) ip = this.ips[this.ipZipf.sample(rng)]!;
    if (full(ip)) {
      const from = rng.int(0, this.ips.length - 1);
      const free = this.ips.findIndex((_, k) => !full(this.ips[(from + k) % this.ips.length]!));
      if (free >= 0) ip = this.ips[(from + free) % this.ips.length]!;
      else this.ips.push((ip = publicIp(rng)));
    }
    this.registrationWindows.set(`${ip}|${window}`, (this.registrationWindows.get(`${ip}|${window}`) ?? 0) + 1);
    const body: Body = {
      user_id: rng.chance(0.7) ? this.registeredUserId() : String(this.registeredUserId()),
      [rng.chance(0.9) ? 'ip' : 'ip_address']: ip,
      device_id: `dev-${rng.hex(10)}`,
      [s.field]: s.value,
    };
    return [ip, body];
  }

  private reading(sensor: Sensor): { temperature: number; humidity: number } {
    const rng = this.rng;
    // Noise around each sensor's own climate, clamped so physical limits are never crossed.
    const temperature = Math.min(99, Math.max(-39, Math.round((sensor.temperature + 1.5 * rng.normal()) * 10) / 10));
    const humidity = Math.min(99.5, Math.max(0.5, Math.round((sensor.humidity + 4 * rng.normal()) * 10) / 10));
    return { temperature, humidity };
  }

  private backgroundReading(s: Stamped): [string, Body] {
    const rng = this.rng;
    const sensor = rng.pick(this.sensors);
    const { temperature, humidity } = this.reading(sensor);
    const quoted = rng.chance(0.03);
    return [
      sensor.id,
      {
        device_id: sensor.id,
        temperature: quoted ? String(temperature) : temperature,
        humidity: quoted ? String(humidity) : humidity,
        [s.field]: s.value,
      },
    ];
  }

  // ---------------------------------------------------------------------------------------------
  // Malformed records

  /** A plausible record of a random topic, without touching any window state (it never parses). */
  private draft(topic: Topic, t: number): [string, Body] {
    const rng = this.rng;
    const s = this.stamp(topic, t, this.o.start);
    if (topic === 'user_events') {
      const user = this.users[this.userZipf.sample(rng)]!;
      const action = rng.weighted(USER_ACTIONS);
      return [String(user.id), this.userBody(user.id, action, user.homeDevice, user.homeCity, this.ipOf(user, user.homeCity), s)];
    }
    if (topic === 'user_registrations') {
      const ip = this.ips[this.ipZipf.sample(rng)]!;
      return [ip, { user_id: this.registeredUserId(), ip, device_id: `dev-${rng.hex(10)}`, [s.field]: s.value }];
    }
    const sensor = rng.pick(this.sensors);
    return [sensor.id, { device_id: sensor.id, ...this.reading(sensor), [s.field]: s.value }];
  }

  private malformed(i: number): GeneratedRecord {
    const rng = this.rng;
    const topic = this.pickTopic()!;
    const [key, body] = this.draft(topic, this.onTime(i));
    const kinds: [MalformedKind, number][] = [['invalid_json', 30], ['wrong_type', 25], ['missing_timestamp', 20], ['bad_timestamp', 17]];
    if (this.o.hugeValues) kinds.push(['huge_value', 8]);
    const kind = rng.weighted(kinds);
    let value: string;
    let why: string;
    const timeField = 'timestamp' in body ? 'timestamp' : 'event_time';
    switch (kind) {
      case 'invalid_json': {
        const json = JSON.stringify(body);
        const form = rng.pick(['truncated', 'single_quotes', 'trailing_comma', 'not_json', ...(topic === 'iot_telemetry' ? ['nan'] : [])]);
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
        if (topic === 'user_events') {
          if (rng.chance(0.6)) {
            copy.event_type = undefined;
            copy.action = 'payment';
            copy.amount = rng.pick(['lots', 'N/A', '¥12,50']);
            why = `wrong type: amount is ${JSON.stringify(copy.amount)}`;
          } else {
            copy.user_id = true;
            why = 'wrong type: user_id is a boolean';
          }
        } else if (topic === 'user_registrations') {
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
        const t = this.onTime(i);
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
        const field = topic === 'user_events' ? 'location_city' : 'device_id';
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

type MalformedKind = 'invalid_json' | 'wrong_type' | 'missing_timestamp' | 'bad_timestamp' | 'huge_value';

const FREE = -1;

interface ScenarioSpec {
  scenario: Omit<InjectedScenario, 'events'>;
  events: Omit<Planned, 'scenario'>[];
}
