/** Conversions applied after shape validation: they can still fail, with the field named. */
import { MAX_MAGNITUDE } from './fields.ts';

/** Where a normaliser reports a problem; zod's transform context fits, and so does a plain collector. */
export interface IssueSink {
  addIssue(issue: { code: 'custom'; path: PropertyKey[]; message: string }): void;
}

/** Epoch ms below this (March 1973) are almost surely epoch seconds sent by mistake. */
const MIN_PLAUSIBLE_EPOCH_MS = 1e11;
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
  return Math.trunc(ms);
}

export function toNumber(raw: number | string, field: string, sink: IssueSink): number {
  if (typeof raw === 'number') return raw;
  const n = Number(raw);
  if (!Number.isFinite(n) || Math.abs(n) > MAX_MAGNITUDE) {
    sink.addIssue({ code: 'custom', path: [field], message: `must be a finite number within ±${MAX_MAGNITUDE}` });
    return NaN;
  }
  return n;
}

/** The first present spelling of a field, or undefined after reporting it missing under all its names. */
export function oneOf<T>(sink: IssueSink, names: readonly string[], values: readonly (T | undefined)[]): { name: string; value: T } | undefined {
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== undefined) return { name: names[i]!, value: values[i]! };
  }
  sink.addIssue({ code: 'custom', path: [names[0]!], message: `required (as ${names.map((n) => `"${n}"`).join(' or ')})` });
  return undefined;
}

export const optionalString = (v: string | number | undefined): string | undefined => (v === undefined ? undefined : String(v));

/** The event time under either spelling. */
export function timeOf(e: { timestamp?: number | string; event_time?: number | string }, sink: IssueSink): number {
  const found = oneOf(sink, ['timestamp', 'event_time'], [e.timestamp, e.event_time]);
  return found === undefined ? NaN : toEventTime(found.value, found.name, sink);
}
