/**
 * The verify family "hotkeys" (local/generator/hostile/hotkeys.ts) in the DuckDB reference and the
 * comparison: past a distinct feature's cap the reference expects an approximate count within the
 * documented error bound, below it the exact values; long values count by digest. Like
 * reference.test.ts, nothing here imports lib/.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOT_IP_USERS, HOT_USER_DEVICES, hotkeysRecords } from '../../local/generator/hostile/hotkeys.ts';
import { Random } from '../../local/generator/random.ts';
import { compare } from '../../local/verify/compare.ts';
import { APPROXIMATE_RELATIVE_ERROR } from '../../local/verify/reference/distinct-caps.ts';
import { computeReference, type ReferenceResult } from '../../local/verify/reference/reference.ts';
import type { SystemState, SystemWindow } from '../../local/verify/system-state.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);

let dir: string;
let reference: ReferenceResult;

/** Writes the records as one partition per topic, in event-time order, and computes the reference. */
async function referenceOf(records: { topic: string; value: string; eventTime: number | undefined }[]): Promise<ReferenceResult> {
  const sorted = [...records].sort((a, b) => a.eventTime! - b.eventTime!);
  const offsets = new Map<string, number>();
  const lines = sorted.map((r) => {
    const offset = offsets.get(r.topic) ?? 0;
    offsets.set(r.topic, offset + 1);
    return JSON.stringify({ topic: r.topic, partition: 0, offset, key: null, value: r.value });
  });
  const path = join(dir, `log-${offsets.size}-${lines.length}.jsonl`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return computeReference(path);
}

/** A record per topic well after the span, so the final watermark passes every hot window. */
const closing = [
  { topic: 'user_events', value: JSON.stringify({ user_id: 1, action: 'view', timestamp: T0 + 5 * HOUR }), eventTime: T0 + 5 * HOUR },
  { topic: 'user_registrations', value: JSON.stringify({ user_id: 1, ip: '198.51.100.1', timestamp: T0 + 5 * HOUR }), eventTime: T0 + 5 * HOUR },
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'reference-hot-keys-'));
  reference = await referenceOf([...hotkeysRecords(new Random(7), { startMs: T0, endMs: T0 + 3 * HOUR }), ...closing]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hotUser = () => reference.windows.find((w) => w.pipeline === 'risk' && w.key.startsWith('hot-user-'))!;
/** Registrations hop: the hot IP's busiest hopping window (its one-minute buckets each stay under the cap). */
const hotIp = () => reference.hoppingWindows!.filter((w) => w.key.startsWith('192.0.2.')).sort((a, b) => (b.features.registrations as number) - (a.features.registrations as number))[0]!;

describe('reference: keys past their distinct cap', () => {
  it('expects an approximate count within the documented bound past the cap, exact values below it', () => {
    expect(hotUser()).toMatchObject({ closed: true, features: { events: HOT_USER_DEVICES, devices: { approximate: true, count: HOT_USER_DEVICES, relativeError: APPROXIMATE_RELATIVE_ERROR }, cities: ['Lagos', 'Oslo'] } });
    expect(hotIp()).toMatchObject({ closed: true, features: { registrations: HOT_IP_USERS, users: { approximate: true, count: HOT_IP_USERS } } });
    const buckets = reference.windows.filter((w) => w.key === hotIp().key);
    expect(buckets.reduce((n, w) => n + (w.features.registrations as number), 0)).toBe(HOT_IP_USERS);
    for (const w of buckets) expect((w.features.users as string[]).length).toBe(w.features.registrations);
    expect(APPROXIMATE_RELATIVE_ERROR).toBeCloseTo(0.04875, 5);
  });

  it('still raises the alerts of those windows', () => {
    const alerts = reference.alerts.map((a) => `${a.ruleId}|${a.key}`);
    expect(alerts).toContain(`risk-high|${hotUser().key}`);
    expect(alerts).toContain(`registrations-suspicious-ip|${hotIp().key}`);
  });

  it('counts values over 128 UTF-8 bytes by their SHA-256 digest', async () => {
    const long = (i: number) => `dev-${i}-${'é'.repeat(70)}`;
    const result = await referenceOf(
      [long(1), long(2), long(1), 'short'].map((device, i) => ({
        topic: 'user_events',
        value: JSON.stringify({ user_id: 'u', action: 'view', device_id: device, timestamp: T0 + i }),
        eventTime: T0 + i,
      })),
    );
    const digest = (v: string) => `sha256:${createHash('sha256').update(v, 'utf8').digest('hex')}`;
    expect(result.windows[0]!.features.devices).toEqual([digest(long(1)), digest(long(2)), 'short'].sort());
  });
});

describe('compare: approximate distinct counts', () => {
  /** The system state of a correct run, with the hot windows' distinct features as the engine reports them. */
  function system(devices: unknown): SystemState {
    const windows: SystemWindow[] = reference.windows.map((w) => {
      const features = { ...w.features } as SystemWindow['features'];
      if (w === hotUser()) features.devices = devices as SystemWindow['features'][string];
      return { ...w, closed: w.closed, features };
    });
    return {
      windows,
      alerts: reference.alerts.map((a, i) => ({ id: `a${i}`, pipeline: a.pipeline, key: a.key, windowStart: a.windowStart, ruleId: a.ruleId, level: a.level, alertType: a.alertType })),
      quarantined: [],
      late: [],
    };
  }
  const approx = (count: number) => ({ count, approximate: true, sample: ['dev-x'] });
  const bound = Math.floor(APPROXIMATE_RELATIVE_ERROR * HOT_USER_DEVICES);

  it('accepts an estimate flagged approximate within the bound', () => {
    for (const count of [HOT_USER_DEVICES, HOT_USER_DEVICES - bound, HOT_USER_DEVICES + bound]) {
      expect(compare(reference, system(approx(count))), `count ${count}`).toMatchObject({ ok: true, differences: 0 });
    }
  });

  it('reports an estimate outside the bound, one not flagged approximate, and exact values where an estimate is due', () => {
    for (const devices of [approx(HOT_USER_DEVICES + bound + 2), { count: HOT_USER_DEVICES, approximate: false, sample: [] }, ['a', 'b']]) {
      const c = compare(reference, system(devices));
      expect(c.windows.differing, JSON.stringify(devices).slice(0, 80)).toBe(1);
      expect(c.examples.windowsDiffering?.[0]).toMatchObject({ feature: 'devices', expected: `~${HOT_USER_DEVICES} ±4.9%` });
    }
  });

  it('reports an approximate count where the reference has exact values (below the cap)', () => {
    const state = system(approx(HOT_USER_DEVICES));
    const w = state.windows.find((x) => x.pipeline === 'risk' && x.key === hotUser().key)!;
    w.features.cities = approx(2);
    expect(compare(reference, state).windows.differing).toBe(1);
  });
});
