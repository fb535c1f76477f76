/**
 * The seeded population the stream is about: users (with home and travel cities, devices and
 * per-city IPs), the IPs sign-ups come from and the sensors, plus the value bodies every topic's
 * records share. Built in a fixed order from the generator's one random source, so the same seed
 * gives the same world.
 */
import { Random, Zipf } from './random.ts';
import type { Body, Stamped } from './types.ts';

export const CITIES = [
  'Shanghai', 'Beijing', 'Shenzhen', 'Guangzhou', 'Hangzhou', 'Chengdu', 'Wuhan', "Xi'an", 'Nanjing', 'Chongqing',
  'Tianjin', 'Suzhou', 'Hong Kong', 'Singapore', 'Tokyo', 'Seoul', 'London', 'Paris', 'Berlin', 'Amsterdam',
  'New York', 'San Francisco', 'Seattle', 'Toronto', 'Sydney', 'Mumbai', 'Dubai', 'São Paulo', 'Madrid', 'Stockholm',
];

export const USER_ACTIONS: readonly (readonly [string, number])[] = [
  ['view', 50], ['login', 14], ['payment', 14], ['logout', 8], ['add_to_cart', 8], ['search', 6],
];

// First octets that would collide with private, reserved or the scenario's documentation ranges.
const RESERVED_OCTETS = new Set([0, 10, 100, 127, 169, 172, 192, 198, 203]);

/** A random public IPv4 address outside the ranges scenarios and tests use. */
export function publicIp(rng: Random): string {
  let a: number;
  do a = rng.int(1, 223);
  while (RESERVED_OCTETS.has(a));
  return `${a}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** Scenario IPs come from documentation ranges no background IP uses. */
export function scenarioIp(n: number): string {
  return n < 254 ? `203.0.113.${n + 1}` : `198.18.${Math.floor(n / 254) % 256}.${(n % 254) + 1}`;
}

/** IPs of a second scenario kind, from other documentation and benchmark ranges (198.51.100.0/24, 198.19.0.0/16). */
export function otherScenarioIp(n: number): string {
  return n < 254 ? `198.51.100.${n + 1}` : `198.19.${Math.floor(n / 254) % 256}.${(n % 254) + 1}`;
}

export interface User {
  id: number;
  homeCity: string;
  travelCity: string | undefined;
  homeDevice: string;
  otherDevice: string | undefined;
  ipByCity: Map<string, string>;
}

export interface Sensor {
  id: string;
  temperature: number;
  humidity: number;
}

/** Physical limits a background reading stays strictly inside: the iot pipeline's kept ranges. */
export interface ReadingRanges {
  temperature: readonly [number, number];
  humidity: readonly [number, number];
}

export class World {
  readonly users: User[] = [];
  readonly userZipf: Zipf;
  readonly cityZipf = new Zipf(CITIES.length, 1.1);
  readonly ips: string[] = [];
  readonly ipZipf: Zipf;
  readonly sensors: Sensor[] = [];
  private nextRegisteredUser = 20_000_000;

  /** A world sized for a stream of `n` records. */
  constructor(
    readonly rng: Random,
    n: number,
    readonly ranges: ReadingRanges,
  ) {
    const userCount = Math.max(100, Math.ceil(n / 15));
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

    for (let i = Math.max(50, Math.ceil(n / 25)); i > 0; i--) this.ips.push(publicIp(rng));
    this.ipZipf = new Zipf(this.ips.length, 0.9);

    for (let i = 1, count = Math.max(20, Math.ceil(n / 150)); i <= count; i++) {
      this.sensors.push({
        id: `sensor-${String(i).padStart(5, '0')}`,
        temperature: Math.round(rng.between(5, 35) * 10) / 10,
        humidity: Math.round(rng.between(25, 75) * 10) / 10,
      });
    }
  }

  /** A user drawn by popularity. */
  user(): User {
    return this.users[this.userZipf.sample(this.rng)]!;
  }

  /** A city drawn by popularity. */
  city(): string {
    return CITIES[this.cityZipf.sample(this.rng)]!;
  }

  /** A sign-up IP drawn by popularity. */
  ip(): string {
    return this.ips[this.ipZipf.sample(this.rng)]!;
  }

  /** A fresh id for a registered user; never one a background user has. */
  registeredUserId(): number {
    return this.nextRegisteredUser++;
  }

  /** The IP a user connects from in a city, fixed on first use. */
  ipOf(user: User, city: string): string {
    let ip = user.ipByCity.get(city);
    if (!ip) user.ipByCity.set(city, (ip = publicIp(this.rng)));
    return ip;
  }

  /** A user_events value, spelling fields the ways the source system's producers do. */
  userBody(userId: number, action: string, device: string, city: string, ip: string, s: Stamped, amount?: number): Body {
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

  /** A payment amount: log-normal, as purchases are. */
  amount(): number {
    return Math.max(0.5, Math.round(Math.exp(3.5 + this.rng.normal()) * 100) / 100);
  }

  /** A background reading of a sensor: noise around its own climate, never outside the kept ranges. */
  reading(sensor: Sensor): { temperature: number; humidity: number } {
    const rng = this.rng;
    const [tLo, tHi] = this.ranges.temperature;
    const [hLo, hHi] = this.ranges.humidity;
    // Clamped a margin inside the limits, so a rounded reading can never reach one.
    const temperature = Math.min(tHi - 1, Math.max(tLo + 1, Math.round((sensor.temperature + 1.5 * rng.normal()) * 10) / 10));
    const humidity = Math.min(hHi - 0.5, Math.max(hLo + 0.5, Math.round((sensor.humidity + 4 * rng.normal()) * 10) / 10));
    return { temperature, humidity };
  }
}
