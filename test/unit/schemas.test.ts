import { describe, expect, it } from 'vitest';
import { registrationSchema, telemetrySchema, userEventSchema } from '../../lib/schemas/events.ts';

const T = Date.parse('2026-11-23T10:00:00Z');
const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('event schemas', () => {
  it('accept both spellings of the source system and normalise them', () => {
    const a = userEventSchema.parse({ user_id: 7, action: 'login', timestamp: '2026-11-23T10:00:00Z', ip_address: '1.2.3.4', device_id: 'd', location_city: 'Lima' });
    const b = userEventSchema.parse({ user_id: '7', event_type: 'login', event_time: T, ip: '1.2.3.4', device_id: 'd', city: 'Lima' });
    expect(a).toEqual(b);
    expect(a).toEqual({ userId: '7', action: 'login', amount: undefined, ip: '1.2.3.4', deviceId: 'd', city: 'Lima', eventTime: T });
  });

  it('accept ISO-8601 with offsets, epoch ms as number or digits, and quoted decimals', () => {
    expect(registrationSchema.parse({ user_id: 'u', ip: '::1', event_time: '2026-11-23T11:00:00+01:00' }).eventTime).toBe(T);
    expect(registrationSchema.parse({ user_id: 'u', ip: '::1', timestamp: String(T) }).eventTime).toBe(T);
    expect(userEventSchema.parse({ user_id: 1, action: 'payment', amount: '12.50', timestamp: T }).amount).toBe(12.5);
    expect(telemetrySchema.parse({ device_id: 's', temperature: -41, humidity: 101, timestamp: T })).toMatchObject({ temperature: -41, humidity: 101 });
  });

  it('name the field and the problem when input is wrong', () => {
    expect(issues(userEventSchema.safeParse({ action: 'x', timestamp: T }))).toEqual(['user_id: required']);
    expect(issues(userEventSchema.safeParse({ user_id: 1, action: 'payment', amount: 'lots', timestamp: T }))).toEqual(['amount: expected a number']);
    expect(issues(userEventSchema.safeParse({ user_id: 1, action: 'login' }))).toEqual(['timestamp: required (as "timestamp" or "event_time")']);
    expect(issues(userEventSchema.safeParse({ user_id: 1, timestamp: T }))).toEqual(['action: required (as "action" or "event_type")']);
    expect(issues(userEventSchema.safeParse({ user_id: 1, action: 'x', event_time: 'yesterday' }))[0]).toMatch(/^event_time: unparseable timestamp "yesterday"/);
    expect(issues(userEventSchema.safeParse({ user_id: 1, action: 'x', timestamp: 1_763_892_000 }))[0]).toMatch(/looks like epoch seconds/);
    expect(issues(registrationSchema.safeParse({ user_id: 'x'.repeat(300), ip: '1', timestamp: T }))).toEqual(['user_id: longer than 256 characters']);
    expect(issues(telemetrySchema.safeParse({ device_id: 's', temperature: 1e300, humidity: 1, timestamp: T }))[0]).toMatch(/^temperature: must be a finite number/);
  });
});
