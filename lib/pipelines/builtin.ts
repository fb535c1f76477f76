/** The pipelines streamguard ships with (docs/design.md, "The pipelines"). */
import { registrations, telemetry, userEvents } from '../schemas/events.ts';
import { exactMean, exactSum } from './exact.ts';
import { count, distinct, max, min } from './features.ts';
import { pipeline, source, type Pipeline } from './pipeline.ts';
import { IOT_TELEMETRY, USER_EVENTS, USER_REGISTRATIONS } from './topics.ts';
import { hopping, hours, minutes, tumbling } from './window.ts';

export const userEventsTopic = source(USER_EVENTS, userEvents);
export const registrationsTopic = source(USER_REGISTRATIONS, registrations);
export const telemetryTopic = source(IOT_TELEMETRY, telemetry);

/** Payment spree: payments per user in 5 minutes. */
export const payments = pipeline('payments')
  .from(userEventsTopic)
  .filter((e) => e.action === 'payment')
  .key((e) => e.userId)
  .window(tumbling(minutes(5)))
  .aggregate({ count: count(), amount: exactSum((e) => e.amount) });

/** Account risk: devices, cities and logins per user in 1 hour. */
export const risk = pipeline('risk')
  .from(userEventsTopic)
  .key((e) => e.userId)
  .window(tumbling(hours(1)))
  .aggregate({
    events: count(),
    devices: distinct((e) => e.deviceId),
    cities: distinct((e) => e.city),
    logins: count((e) => e.action === 'login'),
  });

/**
 * Registration burst: sign-ups per IP in any 10 minutes, one window starting every minute, so a
 * burst straddling a clock boundary is seen whole (stored as one-minute buckets: issue #14).
 */
export const registrationsPerIp = pipeline('registrations')
  .from(registrationsTopic)
  .key((e) => e.ip)
  .window(hopping(minutes(10), { every: minutes(1) }))
  .aggregate({ registrations: count(), users: distinct((e) => e.userId) });

/** Readings a sensor can physically produce; others are counted as rejected, not aggregated. */
export const TEMPERATURE_RANGE = [-40, 100] as const;
export const HUMIDITY_RANGE = [0, 100] as const;

/** Per-device telemetry statistics in 1 minute, with out-of-range readings counted. */
export const iot = pipeline('iot')
  .from(telemetryTopic)
  .filter(
    (e) =>
      e.temperature >= TEMPERATURE_RANGE[0] &&
      e.temperature <= TEMPERATURE_RANGE[1] &&
      e.humidity >= HUMIDITY_RANGE[0] &&
      e.humidity <= HUMIDITY_RANGE[1],
    { rejectedAs: 'rejected' },
  )
  .key((e) => e.deviceId)
  .window(tumbling(minutes(1)))
  .aggregate({
    count: count(),
    temperatureMin: min((e) => e.temperature),
    temperatureMax: max((e) => e.temperature),
    temperatureAvg: exactMean((e) => e.temperature),
    humidityMin: min((e) => e.humidity),
    humidityMax: max((e) => e.humidity),
    humidityAvg: exactMean((e) => e.humidity),
  });

/**
 * Every built-in pipeline, the one list the ingest router, the closer, the stack (mappings, alarms),
 * the local runtime, the CLI and verify derive theirs from (docs/design.md, "Adding a pipeline").
 */
const declared = [payments, risk, registrationsPerIp, iot] as const;
export const builtinPipelines: Pipeline[] = [...declared];

/** The name of a built-in pipeline, derived from the list above. */
export type PipelineName = (typeof declared)[number]['name'];
