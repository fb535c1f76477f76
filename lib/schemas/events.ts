/**
 * The three event families, as the source system writes them. Both of its spellings are accepted
 * (`action`/`event_type`, `timestamp`/`event_time`, `ip`/`ip_address`, `city`/`location_city`) and
 * normalised to one shape each.
 */
import { z } from 'zod';
import { decimal, eventTime, id, text } from './fields.ts';

/** A user action (login, payment, ...) on the `user_events` topic. */
export interface UserEvent {
  userId: string;
  action: string;
  amount: number | undefined;
  ip: string | undefined;
  deviceId: string | undefined;
  city: string | undefined;
  eventTime: number;
}

/** A sign-up on the `user_registrations` topic. */
export interface Registration {
  userId: string;
  ip: string;
  deviceId: string | undefined;
  eventTime: number;
}

/** A sensor reading on the `iot_telemetry` topic. */
export interface Telemetry {
  deviceId: string;
  temperature: number;
  humidity: number;
  eventTime: number;
}

/** Picks the first present spelling of a field, or reports the field as missing under all names. */
function oneOf<T>(ctx: z.RefinementCtx, names: string[], values: (T | undefined)[]): T {
  const found = values.find((v) => v !== undefined);
  if (found === undefined) {
    ctx.addIssue({ code: 'custom', path: [names[0]!], message: `required (as ${names.map((n) => `"${n}"`).join(' or ')})` });
    return z.NEVER;
  }
  return found;
}

export const userEventSchema = z
  .object({
    user_id: id,
    action: text.optional(),
    event_type: text.optional(),
    amount: decimal.optional(),
    ip_address: text.optional(),
    ip: text.optional(),
    device_id: id.optional(),
    location_city: text.optional(),
    city: text.optional(),
    timestamp: eventTime.optional(),
    event_time: eventTime.optional(),
  })
  .transform((e, ctx): UserEvent => ({
    userId: e.user_id,
    action: oneOf(ctx, ['action', 'event_type'], [e.action, e.event_type]),
    amount: e.amount,
    ip: e.ip_address ?? e.ip,
    deviceId: e.device_id,
    city: e.location_city ?? e.city,
    eventTime: oneOf(ctx, ['timestamp', 'event_time'], [e.timestamp, e.event_time]),
  }));

export const registrationSchema = z
  .object({
    user_id: id,
    ip: text.optional(),
    ip_address: text.optional(),
    device_id: id.optional(),
    timestamp: eventTime.optional(),
    event_time: eventTime.optional(),
  })
  .transform((e, ctx): Registration => ({
    userId: e.user_id,
    ip: oneOf(ctx, ['ip', 'ip_address'], [e.ip, e.ip_address]),
    deviceId: e.device_id,
    eventTime: oneOf(ctx, ['timestamp', 'event_time'], [e.timestamp, e.event_time]),
  }));

export const telemetrySchema = z
  .object({
    device_id: id,
    temperature: decimal,
    humidity: decimal,
    timestamp: eventTime.optional(),
    event_time: eventTime.optional(),
  })
  .transform((e, ctx): Telemetry => ({
    deviceId: e.device_id,
    temperature: e.temperature,
    humidity: e.humidity,
    eventTime: oneOf(ctx, ['timestamp', 'event_time'], [e.timestamp, e.event_time]),
  }));

/** Every event family has an event time; pipelines window on it. */
export type TimedEvent = { eventTime: number };
