/**
 * Background traffic: realistic records of every source topic that keep each window at or under
 * its rule's threshold, so every alert traces back to an injected scenario. The thresholds are read
 * from the rules (thresholds.ts), not restated: a window reaches the least value that would fire a
 * rule minus one at most, and a reading stays inside the iot pipeline's kept ranges. For a hopping
 * registrations pipeline every overlapping window counts: sign-ups are counted per bucket (one
 * advance) and an IP is full when any window holding the bucket is.
 */
import { IOT_TELEMETRY, USER_EVENTS, USER_REGISTRATIONS } from '../../lib/pipelines/topics.ts';
import type { Resolved } from './options.ts';
import type { Stream } from './stream.ts';
import { windowStartOf } from './stream.ts';
import type { Thresholds } from './thresholds.ts';
import type { Body, GeneratedRecord, Stamped, Topic } from './types.ts';
import { publicIp, USER_ACTIONS, type World } from './world.ts';

/** The default rules the background stays under (ids in lib/rules/defaults.ts). */
export const BACKGROUND_RULES = {
  deviceAndCity: 'risk-high',
  logins: 'risk-medium',
  payments: 'payments-spree',
  registrations: 'registrations-suspicious-ip',
} as const;

interface RiskWindow {
  devices: string[];
  cities: string[];
  logins: number;
}

/** How far each window may go: one under the least value that fires its rule. */
interface Limits {
  riskWindowMs: number;
  /** Distinct devices and cities that, together, fire the HIGH rule. */
  devicesToFire: number;
  citiesToFire: number;
  maxLogins: number;
  paymentsWindowMs: number;
  maxPayments: number;
  /** The registrations pipeline's windows: size, and advance (= size when tumbling). */
  registrationsWindowMs: number;
  registrationsAdvanceMs: number;
  maxRegistrations: number;
}

function limitsOf(thresholds: Thresholds): Limits {
  const used = 'the background traffic';
  const high = thresholds.trigger(BACKGROUND_RULES.deviceAndCity, ['devices', 'cities'], used);
  const devicesToFire = high.least.devices!;
  const citiesToFire = high.least.cities!;
  // One device and one city per window must stay clean, or no user could act at all.
  if (devicesToFire < 2 || citiesToFire < 2) {
    throw new RangeError(`${used}: rule "${high.rule.id}" (${high.rule.condition}) fires on one device and one city; every user window would alert`);
  }
  const logins = thresholds.trigger(BACKGROUND_RULES.logins, ['logins'], used);
  const payments = thresholds.trigger(BACKGROUND_RULES.payments, ['count'], used);
  const registrations = thresholds.trigger(BACKGROUND_RULES.registrations, ['registrations'], used);
  return {
    riskWindowMs: high.pipeline.window.sizeMs,
    devicesToFire,
    citiesToFire,
    maxLogins: logins.least.logins! - 1,
    paymentsWindowMs: payments.pipeline.window.sizeMs,
    maxPayments: payments.least.count! - 1,
    registrationsWindowMs: registrations.pipeline.window.sizeMs,
    registrationsAdvanceMs: registrations.pipeline.window.advanceMs,
    maxRegistrations: registrations.least.registrations! - 1,
  };
}

export class Background {
  private readonly limits: Limits;
  private readonly riskWindows = new Map<string, RiskWindow>();
  private readonly paymentWindows = new Map<string, number>();
  /** Sign-ups per `${ip}|${bucket start}`, a bucket being one advance (the window, when tumbling). */
  private readonly registrationBuckets = new Map<string, number>();
  private readonly bodies: Record<Topic, (s: Stamped) => [string, Body]> = {
    [USER_EVENTS]: (s) => this.userEvent(s),
    [USER_REGISTRATIONS]: (s) => this.registration(s),
    [IOT_TELEMETRY]: (s) => this.reading(s),
  };

  constructor(
    private readonly world: World,
    private readonly stream: Stream,
    private readonly o: Resolved,
    thresholds: Thresholds,
  ) {
    this.limits = limitsOf(thresholds);
  }

  /** An on-time background record at slot i. */
  onTime(i: number): GeneratedRecord {
    return this.record(this.stream.pickTopic()!, this.stream.onTime(i));
  }

  /** A late record at slot i, or undefined when no topic with traffic can have one there. */
  late(i: number): GeneratedRecord | undefined {
    const topic = this.stream.pickTopic((t) => this.stream.lateRange(t, i) !== undefined);
    if (!topic) return undefined;
    const [lo, hi] = this.stream.lateRange(topic, i)!;
    return { ...this.record(topic, lo + Math.floor(this.world.rng.float() * (hi - lo + 1))), late: true };
  }

  /** A well-formed background record at event time t that keeps every window under its rule's threshold. */
  private record(topic: Topic, t: number): GeneratedRecord {
    const s = this.stream.stamp(topic, t, this.o.start);
    const nullKey = this.world.rng.chance(this.o.nullKeyRate);
    const [key, body] = this.bodies[topic](s);
    return { topic, key: nullKey ? null : key, value: JSON.stringify(body), eventTime: s.t };
  }

  private userEvent(s: Stamped): [string, Body] {
    const { world, limits } = this;
    const rng = world.rng;
    const user = world.user();
    let device = user.otherDevice && rng.chance(0.15) ? user.otherDevice : user.homeDevice;
    let city = user.travelCity && rng.chance(0.08) ? user.travelCity : user.homeCity;

    const windowKey = `${user.id}|${windowStartOf(s.t, limits.riskWindowMs)}`;
    let w = this.riskWindows.get(windowKey);
    if (!w) this.riskWindows.set(windowKey, (w = { devices: [], cities: [], logins: 0 }));
    // More devices or more cities in a window is normal; both at once is the HIGH-risk pattern, so
    // keep whichever dimension the window has not yet filled up to its rule's count.
    const devices = w.devices.length + (w.devices.includes(device) ? 0 : 1);
    const cities = w.cities.length + (w.cities.includes(city) ? 0 : 1);
    if (devices >= limits.devicesToFire && cities >= limits.citiesToFire) {
      if (w.devices.length < limits.devicesToFire) device = w.devices[0]!;
      else city = w.cities[0]!;
    }
    if (!w.devices.includes(device)) w.devices.push(device);
    if (!w.cities.includes(city)) w.cities.push(city);

    let action = rng.weighted(USER_ACTIONS);
    if (action === 'login') {
      if (w.logins >= limits.maxLogins) action = 'view';
      else w.logins++;
    }
    if (action === 'payment') {
      const payKey = `${user.id}|${windowStartOf(s.t, limits.paymentsWindowMs)}`;
      const paid = this.paymentWindows.get(payKey) ?? 0;
      if (paid >= limits.maxPayments) action = 'view';
      else this.paymentWindows.set(payKey, paid + 1);
    }
    return [String(user.id), world.userBody(user.id, action, device, city, world.ipOf(user, city), s)];
  }

  private registration(s: Stamped): [string, Body] {
    const { world, limits } = this;
    const rng = world.rng;
    const bucket = windowStartOf(s.t, limits.registrationsAdvanceMs);
    const full = (ip: string) => this.fullestWindowHolding(ip, bucket) >= limits.maxRegistrations;
    let ip = world.ip();
    // A popular IP (a carrier NAT) that has reached the threshold hands over to another one.
    for (let tries = 0; full(ip) && tries < 8; tries++) ip = world.ip();
    if (full(ip)) {
      const ips = world.ips;
      const from = rng.int(0, ips.length - 1);
      const free = ips.findIndex((_, k) => !full(ips[(from + k) % ips.length]!));
      if (free >= 0) ip = ips[(from + free) % ips.length]!;
      else ips.push((ip = publicIp(rng)));
    }
    this.registrationBuckets.set(`${ip}|${bucket}`, (this.registrationBuckets.get(`${ip}|${bucket}`) ?? 0) + 1);
    const body: Body = {
      user_id: rng.chance(0.7) ? world.registeredUserId() : String(world.registeredUserId()),
      [rng.chance(0.9) ? 'ip' : 'ip_address']: ip,
      device_id: `dev-${rng.hex(10)}`,
      [s.field]: s.value,
    };
    return [ip, body];
  }

  /**
   * The most sign-ups from `ip` in any registrations window holding `bucket`: with n buckets per
   * window, a sliding sum over the 2n - 1 buckets around it (just the bucket when tumbling).
   */
  private fullestWindowHolding(ip: string, bucket: number): number {
    const advance = this.limits.registrationsAdvanceMs;
    const n = this.limits.registrationsWindowMs / advance;
    const counts: number[] = [];
    for (let j = -(n - 1); j <= n - 1; j++) counts.push(this.registrationBuckets.get(`${ip}|${bucket + j * advance}`) ?? 0);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += counts[j]!;
    let most = sum;
    for (let j = n; j < counts.length; j++) {
      sum += counts[j]! - counts[j - n]!;
      most = Math.max(most, sum);
    }
    return most;
  }

  private reading(s: Stamped): [string, Body] {
    const rng = this.world.rng;
    const sensor = rng.pick(this.world.sensors);
    const { temperature, humidity } = this.world.reading(sensor);
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
}
