/**
 * The families' hand-written fast paths against their specification (zod raw schema + normaliser):
 * for every input, the fast path either declines (undefined) or returns exactly what the zod path
 * returns; and it declines everything the zod path rejects.
 */
import { describe, expect, it } from 'vitest';
import { isoUtcOf } from '../../lib/schemas/fast.ts';
import { registrations, telemetry, userEvents } from '../../lib/schemas/events.ts';
import type { EventFamily } from '../../lib/schemas/family.ts';
import { isPlainJsonText } from '../../lib/ingest/parse.ts';
import { rng } from '../support/records.ts';


const T = Date.parse('2026-11-23T10:00:00Z');

const strings = [
  '',
  'a',
  'x'.repeat(255),
  'x'.repeat(256),
  'x'.repeat(257),
  '😀'.repeat(128),
  '😀'.repeat(129),
  'a' + '😀'.repeat(128),
  '\ud800'.repeat(257),
  '__proto__',
  'constructor',
  'login',
  'payment',
  ' ',
  'null',
  'NaN',
  'Infinity',
  '-Infinity',
  '0',
  '-0',
  '12',
  '12.50',
  '-3.5e2',
  '1e15',
  '1e16',
  '-1e15',
  '1000000000000001',
  '1.',
  '.5',
  '+5',
  '0x10',
  '1_000',
  ' 12',
  '12 ',
  '9'.repeat(40),
  '9'.repeat(41),
  '1e308',
  '1e309',
  // Look-alike names: NFC and NFD, invisible and control characters (lib/schemas/text.ts).
  'admin\u200b',
  '\u200badmin',
  'e\u0301',
  '\u00e9',
  'S\u00e3o Paulo',
  'Sa\u0303o Paulo',
  '\ufeffx',
  'a\tb',
  'a\nb',
  '\u0000',
  'a\u007fb',
  'a\u0085b',
  'a\u202eb',
  'a\ud800',
  '\ud83d\ude00',
  '\u0958'.repeat(200),
  // Numbers: rounding to 6 places and underflow, as strings.
  '1e-200',
  '0.0000004',
  '0.0000005',
  '0.30000000000000004',
  '-0.0000004',
];

const numbers = [1e-200, -1e-200, 4e-7, 5e-7, -5e-7, 0.1 + 0.2, 1.0000004, 253402300799999, 253402300800000, 253402300799999.5, Number.MAX_SAFE_INTEGER, 0, -0, 1, -1, 1.5, 7, 42, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 1e15, 1e15 + 1, -1e15, -1e15 - 1, 1e300, -1e300, NaN, Infinity, -Infinity, 1e-7, 99999999999, 1e11, 1e11 + 0.5, T, T + 0.7, T / 1000, 8.64e15, 8.64e15 + 1, 1e21];

const timeStrings = [
  '2026-11-23T10:00:00Z',
  '2026-11-23T10:00:00.000Z',
  '2026-11-23T10:00:00.123Z',
  '2026-11-23T10:00:00.1Z',
  '2026-11-23T10:00:00.12Z',
  '2026-11-23T10:00:00.1234Z',
  '2026-11-23T10:00:00.123456789Z',
  '2026-11-23T10:00:00.1234567890Z',
  '2026-11-23 10:00:00Z',
  '2026-11-23T10:00Z',
  '2026-11-23T10:00',
  '2026-11-23T10:00:00',
  '2026-11-23T10:00:00+01:00',
  '2026-11-23T10:00:00-0130',
  '2026-11-23T10:00:00+00:00',
  '2026-11-23t10:00:00z',
  '2026-02-29T10:00:00Z',
  '2024-02-29T10:00:00Z',
  '2026-02-30T10:00:00Z',
  '2026-04-31T10:00:00Z',
  '2026-12-31T23:59:59.999Z',
  '2026-13-01T00:00:00Z',
  '2026-00-10T00:00:00Z',
  '2026-01-00T00:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T23:60:00Z',
  '2026-01-01T23:59:60Z',
  '1970-01-01T00:00:00Z',
  '1973-03-03T09:46:40Z',
  '1973-03-03T09:46:39.999Z',
  '0000-01-01T00:00:00Z',
  '9999-12-28T23:59:59.999Z',
  '2000-02-28T00:00:00Z',
  '2100-02-28T12:00:00Z',
  '１２３4-01-01T00:00:00Z',
  '2026-11-23T10:00:00.12aZ',
  '2026-11-23T10:00:00Z ',
  ' 2026-11-23T10:00:00Z',
  '2026/11/23T10:00:00Z',
  String(T),
  String(T) + '.5',
  '1763892000',
  '99999999999',
  '100000000000',
  '0' + String(T),
  '9'.repeat(40),
  '9'.repeat(41),
  'yesterday',
  '',
];

const junk: unknown[] = [undefined, null, true, false, [], [1], {}, { a: 1 }];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** A random value of any kind, biased towards the kinds the field accepts. */
function value(r: () => number, kind: 'text' | 'id' | 'decimal' | 'time'): unknown {
  const x = r();
  if (x < 0.12) return pick(r, junk);
  if (x < 0.22) return pick(r, numbers);
  if (x < 0.3) return pick(r, strings);
  if (x < 0.36) return pick(r, timeStrings);
  switch (kind) {
    case 'text':
      return r() < 0.8 ? `v${Math.floor(r() * 50)}` : pick(r, strings);
    case 'id':
      return r() < 0.5 ? Math.floor(r() * 1e6) : `id-${Math.floor(r() * 1e6)}`;
    case 'decimal':
      return r() < 0.6 ? Math.round((r() * 2000 - 1000) * 100) / 100 : String(Math.round(r() * 1e5) / 100);
    case 'time':
      return randomTime(r);
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** ISO strings around the common format, with valid and invalid parts, and epoch numbers. */
function randomTime(r: () => number): unknown {
  const x = r();
  const ms = Math.floor(r() * 4e12);
  if (x < 0.15) return ms;
  if (x < 0.2) return String(ms);
  if (x < 0.25) return Math.floor(ms / 1000);
  if (x < 0.4) return new Date(ms).toISOString();
  const y = r() < 0.7 ? 1970 + Math.floor(r() * 200) : Math.floor(r() * 10000);
  const parts = [pad(y, 4), pad(Math.floor(r() * 14), 2), pad(Math.floor(r() * 33), 2), pad(Math.floor(r() * 26), 2), pad(Math.floor(r() * 62), 2), pad(Math.floor(r() * 62), 2)];
  const frac = pick(r, ['', '.5', '.12', '.123', '.999', '.1234', '.000']);
  const zone = pick(r, ['Z', 'Z', 'Z', '', '+01:00', '-0500', 'z']);
  const sep = pick(r, ['T', 'T', 'T', ' ', 't']);
  return `${parts[0]}-${parts[1]}-${parts[2]}${sep}${parts[3]}:${parts[4]}:${parts[5]}${frac}${zone}`;
}

type Shape = Record<string, 'text' | 'id' | 'decimal' | 'time'>;

const shapes: [string, EventFamily<{ eventTime: number }>, Shape][] = [
  [
    'user events',
    userEvents,
    { user_id: 'id', action: 'text', event_type: 'text', amount: 'decimal', ip_address: 'text', ip: 'text', device_id: 'id', location_city: 'text', city: 'text', timestamp: 'time', event_time: 'time' },
  ],
  ['registrations', registrations, { user_id: 'id', ip: 'text', ip_address: 'text', device_id: 'id', timestamp: 'time', event_time: 'time' }],
  ['telemetry', telemetry, { device_id: 'id', temperature: 'decimal', humidity: 'decimal', timestamp: 'time', event_time: 'time' }],
];

/** A random object: each field present with some probability, sometimes as junk, plus extra keys. */
function randomInput(r: () => number, shape: Shape): unknown {
  const x = r();
  if (x < 0.02) return pick(r, junk);
  if (x < 0.03) return pick(r, [...strings.slice(0, 3), 0, 1]);
  const out: Record<string, unknown> = {};
  for (const [field, kind] of Object.entries(shape)) {
    const required = field === 'user_id' || field === 'device_id' || field === 'temperature' || field === 'humidity' || field === 'timestamp' || field === 'action';
    if (r() < (required ? 0.9 : 0.35)) out[field] = value(r, kind);
  }
  if (r() < 0.2) out[pick(r, ['extra', 'nested', 'user', 'ts'])] = pick(r, [1, 'x', null, { a: 1 }, [1, 2]]);
  if (r() < 0.1) return JSON.parse(JSON.stringify(out).replace(/^\{/, '{"__proto__":{"user_id":1,"device_id":"d","timestamp":1763892000000},'));
  if (r() < 0.05) return Object.assign(Object.create({ user_id: 5, device_id: 'inherited', timestamp: T }), out);
  return out;
}

/** The check itself: decline, or agree with zod; and always decline what zod rejects. */
function agree(family: EventFamily<{ eventTime: number }>, input: unknown): void {
  const spec = family.parseSlow(input);
  const fast = family.parseFast(input);
  if (fast !== undefined) {
    expect(spec.ok, `zod rejects but the fast path accepts ${JSON.stringify(input)}: ${spec.ok ? '' : spec.reason}`).toBe(true);
    if (spec.ok) {
      expect(fast).toStrictEqual(spec.event);
      expect(Object.keys(fast)).toEqual(Object.keys(spec.event));
    }
  }
  // `parse` (fast, then zod) answers exactly as zod alone does.
  expect(family.parse(input)).toStrictEqual(spec);
  // Told that its strings are plain (as ingest is, by isPlainJsonText), it answers the same.
  if (stringsArePlain(input)) expect(family.parseFast(input, true)).toStrictEqual(fast);
}

/** Whether every string (and key) in `input` is printable ASCII: what PlainText promises. */
function stringsArePlain(input: unknown): boolean {
  if (typeof input === 'string') return /^[\x20-\x7e]*$/.test(input);
  if (Array.isArray(input)) return input.every(stringsArePlain);
  if (input !== null && typeof input === 'object') return Object.entries(input).every(([k, v]) => stringsArePlain(k) && stringsArePlain(v));
  return true;
}

describe('event family fast paths', () => {
  for (const [name, family, shape] of shapes) {
    it(`${name}: agree with the zod path on random and adversarial input`, () => {
      const r = rng(name.length * 7919);
      let accepted = 0;
      for (let i = 0; i < 6000; i++) {
        const input = randomInput(r, shape);
        agree(family, input);
        if (family.parseFast(input) !== undefined) accepted++;
      }
      // The generator must exercise the fast path, not just its fallback.
      expect(accepted).toBeGreaterThan(300);
    });

    it(`${name}: agree field by field on every listed edge value`, () => {
      const base: Record<string, unknown> = { user_id: 7, action: 'login', ip: '1.2.3.4', device_id: 'd', temperature: 20, humidity: 50, timestamp: T };
      const fields = Object.keys(shape);
      const edges = [...junk, ...numbers, ...strings, ...timeStrings];
      for (const field of fields) {
        for (const edge of edges) {
          agree(family, { ...base, [field]: edge });
          const without = { ...base, [field]: edge };
          for (const other of fields) if (other !== field && Math.abs(other.length - field.length) % 2 === 0) delete without[other];
          agree(family, without);
        }
      }
      // The common input is taken by the fast path.
      expect(family.parseFast(base)).toBeDefined();
    });
  }

  it('both spellings: the first present one wins, and the other must still be valid', () => {
    const u = { user_id: 1, action: 'a', event_type: 'b', ip_address: 'i1', ip: 'i2', location_city: 'c1', city: 'c2', timestamp: T, event_time: T + 1 };
    expect(userEvents.parseFast(u)).toEqual({ userId: '1', action: 'a', amount: undefined, ip: 'i1', deviceId: undefined, city: 'c1', eventTime: T });
    for (const [field, bad] of [
      ['event_type', ''],
      ['ip', 'x'.repeat(300)],
      ['city', 5],
      ['event_time', 'x'.repeat(41)],
      ['event_time', null],
    ] as const) {
      agree(userEvents, { ...u, [field]: bad });
      expect(userEvents.parseFast({ ...u, [field]: bad })).toBeUndefined();
    }
    expect(registrations.parseFast({ user_id: 'u', ip_address: 'x', timestamp: T })).toEqual({ userId: 'u', ip: 'x', deviceId: undefined, eventTime: T });
  });

  it('isPlainJsonText holds only of text whose every parsed string is printable ASCII', () => {
    const r = rng(1009);
    const pieces = ['a', 'Z', ' ', '~', '0', '"', '\\', '\x7f', '\t', 'é', 'e\u0301', '😀', '\u200b', '\ud800', '\ufffd', '\u0000', '\u00a0', '\ufeff'];
    let plain = 0;
    for (let i = 0; i < 20000; i++) {
      const n = Math.floor(r() * 6);
      let s = '';
      for (let k = 0; k < n; k++) s += pick(r, pieces);
      // As ingest reads a value: UTF-8 bytes, a leading byte-order mark stripped.
      const bom = r() < 0.05;
      const bytes = Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(JSON.stringify({ ip: s, n: 1 }), 'utf8')]);
      const text = bytes.toString('utf8', bom ? 3 : 0);
      const answer = isPlainJsonText(text, bytes.length);
      if (answer) {
        plain++;
        expect(stringsArePlain(JSON.parse(text)), JSON.stringify(text)).toBe(true);
      }
      // And it says so of every such text without a mark (no false negatives but for escapes).
      if (!bom && /^[\x20-\x7e]*$/.test(s) && !s.includes('"') && !s.includes('\\')) expect(answer).toBe(true);
    }
    expect(plain).toBeGreaterThan(1000);
    // Raw control characters cannot reach a string: JSON.parse refuses them.
    expect(() => JSON.parse('{"ip":"a\tb"}')).toThrow();
    expect(() => JSON.parse('{"ip":"a\u0000b"}')).toThrow();
  });

  it('parses the fixed ISO form exactly as Date.parse does', () => {
    const r = rng(42);
    for (let i = 0; i < 20000; i++) {
      const ms = Math.floor(r() * 2.5e14) - 6.2e13;
      const iso = new Date(ms).toISOString();
      if (iso.length !== 24) continue;
      const expected = Date.parse(iso);
      const got = isoUtcOf(iso);
      if (got === got) expect(got).toBe(expected);
      const short = iso.slice(0, 19) + 'Z';
      const gotShort = isoUtcOf(short);
      if (gotShort === gotShort) expect(gotShort).toBe(Date.parse(short));
    }
    for (const s of timeStrings) {
      const got = isoUtcOf(s);
      if (got === got) expect(got).toBe(Date.parse(s));
    }
  });
});
