/**
 * The three event families, as the source system writes them. Both of its spellings are accepted
 * (`action`/`event_type`, `timestamp`/`event_time`, `ip`/`ip_address`, `city`/`location_city`) and
 * normalised to one shape each.
 */
import { z } from 'zod';
import { eventFamily } from './family.ts';
import { decimal, eventTime, id, text } from './fields.ts';
import { oneOf, optionalString, timeOf, toNumber } from './normalise.ts';

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

const times = { timestamp: eventTime.optional(), event_time: eventTime.optional() };

export const userEvents = eventFamily(
  z.object({
    user_id: id,
    action: text.optional(),
    event_type: text.optional(),
    amount: decimal.optional(),
    ip_address: text.optional(),
    ip: text.optional(),
    device_id: id.optional(),
    location_city: text.optional(),
    city: text.optional(),
    ...times,
  }),
  (e, sink): UserEvent => ({
    userId: String(e.user_id),
    action: oneOf(sink, ['action', 'event_type'], [e.action, e.event_type])?.value ?? '',
    amount: e.amount === undefined ? undefined : toNumber(e.amount, 'amount', sink),
    ip: e.ip_address ?? e.ip,
    deviceId: optionalString(e.device_id),
    city: e.location_city ?? e.city,
    eventTime: timeOf(e, sink),
  }),
);

export const registrations = eventFamily(
  z.object({ user_id: id, ip: text.optional(), ip_address: text.optional(), device_id: id.optional(), ...times }),
  (e, sink): Registration => ({
    userId: String(e.user_id),
    ip: oneOf(sink, ['ip', 'ip_address'], [e.ip, e.ip_address])?.value ?? '',
    deviceId: optionalString(e.device_id),
    eventTime: timeOf(e, sink),
  }),
);

export const telemetry = eventFamily(
  z.object({ device_id: id, temperature: decimal, humidity: decimal, ...times }),
  (e, sink): Telemetry => ({
    deviceId: String(e.device_id),
    temperature: toNumber(e.temperature, 'temperature', sink),
    humidity: toNumber(e.humidity, 'humidity', sink),
    eventTime: timeOf(e, sink),
  }),
);

/** The families as plain zod schemas (raw JSON in, normalised event out). */
export const userEventSchema = userEvents.schema;
export const registrationSchema = registrations.schema;
export const telemetrySchema = telemetry.schema;
