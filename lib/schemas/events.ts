/**
 * The three event families, as the source system writes them. Both of its spellings are accepted
 * (`action`/`event_type`, `timestamp`/`event_time`, `ip`/`ip_address`, `city`/`location_city`) and
 * normalised to one shape each.
 */
import * as z from '../zod.ts';
import { decimalOf, idOf, isOptionalId, isText, timeOf as fastTimeOf, type PlainText } from './fast.ts';
import { eventFamily } from './family.ts';
import { decimal, eventTime, id, text } from './fields.ts';
import { oneOf, optionalString, timeOf, toName, toNumber } from './normalise.ts';

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

const times = { timestamp: z.optional(eventTime), event_time: z.optional(eventTime) };

export const userEvents = eventFamily(
  z.object({
    user_id: id,
    action: z.optional(text),
    event_type: z.optional(text),
    amount: z.optional(decimal),
    ip_address: z.optional(text),
    ip: z.optional(text),
    device_id: z.optional(id),
    location_city: z.optional(text),
    city: z.optional(text),
    ...times,
  }),
  (e, sink): UserEvent => ({
    userId: toName(String(e.user_id)),
    action: toName(oneOf(sink, ['action', 'event_type'], [e.action, e.event_type])?.value ?? ''),
    amount: e.amount === undefined ? undefined : toNumber(e.amount, 'amount', sink),
    ip: optionalString(e.ip_address ?? e.ip),
    deviceId: optionalString(e.device_id),
    city: optionalString(e.location_city ?? e.city),
    eventTime: timeOf(e, sink),
  }),
  (input, plain: PlainText = false): UserEvent | undefined => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
    const e = input as Record<string, unknown>;
    const userId = idOf(e.user_id, plain);
    if (userId === undefined) return undefined;
    const action = e.action;
    const eventType = e.event_type;
    if ((action !== undefined && !isText(action, plain)) || (eventType !== undefined && !isText(eventType, plain))) return undefined;
    const chosen = action !== undefined ? action : eventType;
    if (chosen === undefined) return undefined;
    const rawAmount = e.amount;
    let amount: number | undefined;
    if (rawAmount !== undefined) {
      amount = decimalOf(rawAmount);
      if (amount !== amount) return undefined;
    }
    const ipAddress = e.ip_address;
    const ip = e.ip;
    const locationCity = e.location_city;
    const city = e.city;
    const deviceId = e.device_id;
    if (
      (ipAddress !== undefined && !isText(ipAddress, plain)) ||
      (ip !== undefined && !isText(ip, plain)) ||
      (locationCity !== undefined && !isText(locationCity, plain)) ||
      (city !== undefined && !isText(city, plain)) ||
      !isOptionalId(deviceId, plain)
    ) {
      return undefined;
    }
    const eventTime = fastTimeOf(e.timestamp, e.event_time);
    if (eventTime !== eventTime) return undefined;
    return {
      userId,
      action: chosen as string,
      amount,
      ip: (ipAddress ?? ip) as string | undefined,
      deviceId: deviceId === undefined ? undefined : String(deviceId),
      city: (locationCity ?? city) as string | undefined,
      eventTime,
    };
  },
);

export const registrations = eventFamily(
  z.object({ user_id: id, ip: z.optional(text), ip_address: z.optional(text), device_id: z.optional(id), ...times }),
  (e, sink): Registration => ({
    userId: toName(String(e.user_id)),
    ip: toName(oneOf(sink, ['ip', 'ip_address'], [e.ip, e.ip_address])?.value ?? ''),
    deviceId: optionalString(e.device_id),
    eventTime: timeOf(e, sink),
  }),
  (input, plain: PlainText = false): Registration | undefined => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
    const e = input as Record<string, unknown>;
    const userId = idOf(e.user_id, plain);
    if (userId === undefined) return undefined;
    const ip = e.ip;
    const ipAddress = e.ip_address;
    const deviceId = e.device_id;
    if ((ip !== undefined && !isText(ip, plain)) || (ipAddress !== undefined && !isText(ipAddress, plain)) || !isOptionalId(deviceId, plain)) return undefined;
    const chosen = ip !== undefined ? ip : ipAddress;
    if (chosen === undefined) return undefined;
    const eventTime = fastTimeOf(e.timestamp, e.event_time);
    if (eventTime !== eventTime) return undefined;
    return { userId, ip: chosen as string, deviceId: deviceId === undefined ? undefined : String(deviceId), eventTime };
  },
);

export const telemetry = eventFamily(
  z.object({ device_id: id, temperature: decimal, humidity: decimal, ...times }),
  (e, sink): Telemetry => ({
    deviceId: toName(String(e.device_id)),
    temperature: toNumber(e.temperature, 'temperature', sink),
    humidity: toNumber(e.humidity, 'humidity', sink),
    eventTime: timeOf(e, sink),
  }),
  (input, plain: PlainText = false): Telemetry | undefined => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
    const e = input as Record<string, unknown>;
    const deviceId = idOf(e.device_id, plain);
    if (deviceId === undefined) return undefined;
    const temperature = decimalOf(e.temperature);
    if (temperature !== temperature) return undefined;
    const humidity = decimalOf(e.humidity);
    if (humidity !== humidity) return undefined;
    const eventTime = fastTimeOf(e.timestamp, e.event_time);
    if (eventTime !== eventTime) return undefined;
    return { deviceId, temperature, humidity, eventTime };
  },
);

/** The families as plain zod schemas (raw JSON in, normalised event out). */
export const userEventSchema = userEvents.schema;
export const registrationSchema = registrations.schema;
export const telemetrySchema = telemetry.schema;
