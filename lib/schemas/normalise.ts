/** Conversions applied after shape validation: they can still fail, with the field named. */
import { DECIMAL_PLACES, DECIMAL_SCALE, MAX_EVENT_TIME_MS, MAX_MAGNITUDE, MIN_EVENT_TIME_MS } from './fields.ts';
import { nfc } from './text.ts';

/** Where a normaliser reports a problem; zod's transform context fits, and so does a plain collector. */
export interface IssueSink {
  addIssue(issue: { code: 'custom'; path: PropertyKey[]; message: string }): void;
}

/** Epoch ms below this (March 1973) are almost surely epoch seconds sent by mistake. */
const MIN_PLAUSIBLE_EPOCH_MS = MIN_EVENT_TIME_MS;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;
const DIGITS = /^\d+$/;

export function toEventTime(raw: number | string, field: string, sink: IssueSink): number {
  const ms = typeof raw === 'number' || DIGITS.test(raw) ? Number(raw) : ISO_8601.test(raw) ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms)) {
    sink.addIssue({ code: 'custom', path: [field], message: `unparseable timestamp ${JSON.stringify(raw)} (want ISO-8601 or epoch ms)` });
    return NaN;
  }
  if (ms < MIN_PLAUSIBLE_EPOCH_MS) {
    sink.addIssue({ code: 'custom', path: [field], message: `timestamp ${raw} looks like epoch seconds; send epoch milliseconds` });
    return NaN;
  }
  if (ms > MAX_EVENT_TIME_MS) {
    sink.addIssue({ code: 'custom', path: [field], message: `timestamp ${JSON.stringify(raw)} is after 9999-12-31T23:59:59.999Z, the last time a window can be dated and stored` });
    return NaN;
  }
  return Math.trunc(ms);
}

/**
 * A number rounded to DECIMAL_PLACES, half away from zero; NaN when it is not 0 but rounds to 0
 * (an underflow: 1e-200 would make DynamoDB refuse the whole window's write).
 */
export function toDecimal(n: number): number {
  const millionths = Math.round(Math.abs(n) * DECIMAL_SCALE);
  if (millionths === 0 && n !== 0) return NaN;
  return n < 0 ? -(millionths / DECIMAL_SCALE) : millionths / DECIMAL_SCALE;
}

export function toNumber(raw: number | string, field: string, sink: IssueSink): number {
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isFinite(n) || Math.abs(n) > MAX_MAGNITUDE) {
    sink.addIssue({ code: 'custom', path: [field], message: `must be a finite number within ±${MAX_MAGNITUDE}` });
    return NaN;
  }
  const d = toDecimal(n);
  if (d !== d) {
    sink.addIssue({ code: 'custom', path: [field], message: `${raw} is not 0 but rounds to 0 at the ${DECIMAL_PLACES} decimal places kept (underflow)` });
    return NaN;
  }
  return d;
}

/** A name in its one spelling (NFC; see ./text.ts). */
export const toName = (s: string): string => nfc(s);

/** The first present spelling of a field, or undefined after reporting it missing under all its names. */
export function oneOf<T>(sink: IssueSink, names: readonly string[], values: readonly (T | undefined)[]): { name: string; value: T } | undefined {
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== undefined) return { name: names[i]!, value: values[i]! };
  }
  sink.addIssue({ code: 'custom', path: [names[0]!], message: `required (as ${names.map((n) => `"${n}"`).join(' or ')})` });
  return undefined;
}

export const optionalString = (v: string | number | undefined): string | undefined => (v === undefined ? undefined : nfc(String(v)));

/** The event time under either spelling. */
export function timeOf(e: { timestamp?: number | string; event_time?: number | string }, sink: IssueSink): number {
  const found = oneOf(sink, ['timestamp', 'event_time'], [e.timestamp, e.event_time]);
  return found === undefined ? NaN : toEventTime(found.value, found.name, sink);
}
