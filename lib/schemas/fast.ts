/**
 * Hand-written checks for the common case of each field, used by the families' fast paths.
 *
 * Each mirrors its zod schema in ./fields.ts plus the conversion in ./normalise.ts, but only ever
 * answers "valid, and this is the value" or "not sure" (`undefined` / `NaN`), never "invalid": when
 * unsure the caller falls back to zod, which decides and names the problem. Anything these accept,
 * zod accepts with the same output (test/unit/schemas-fast-path.test.ts checks it differentially).
 */
import { MAX_EVENT_TIME_MS, MAX_FIELD_CHARS, MAX_MAGNITUDE } from './fields.ts';
import { toDecimal, toEventTime, type IssueSink } from './normalise.ts';
import { isCleanName } from './text.ts';

/**
 * `text`: a non-empty string of at most 256 UTF-16 units (longer ones may still fit in code points:
 * zod decides) that is a clean name already in NFC (others: zod decides and normalises).
 *
 * `plain`: the caller knows every string of the input is printable ASCII (see PlainText), so the
 * name check, whose answer that fixes, is skipped (measured: the largest per-event cost the
 * hostile-input checks added to the fast path).
 */
export function isText(v: unknown, plain: PlainText = false): v is string {
  return typeof v === 'string' && v.length !== 0 && v.length <= MAX_FIELD_CHARS && (plain || isCleanName(v));
}

/**
 * True only when every string in the input is printable ASCII (U+0020 to U+007E): each is then a
 * clean name in NFC by the rule of ./text.ts, with no check needed. lib/ingest/parse.ts knows it of
 * a value's JSON text as a whole (isPlainJsonText); false (the default) promises nothing.
 */
export type PlainText = boolean;

/** `id` normalised with String(): the string, or undefined when zod must decide. */
export function idOf(v: unknown, plain: PlainText = false): string | undefined {
  if (typeof v === 'string') return isText(v, plain) ? v : undefined;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? String(v) : undefined;
  return undefined;
}

/** An optional `id`: true when absent or valid. */
export function isOptionalId(v: unknown, plain: PlainText = false): boolean {
  if (v === undefined) return true;
  if (typeof v === 'string') return isText(v, plain);
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0;
  return false;
}

const DECIMAL = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** `decimal` through toNumber (rounded to the places kept): the number, or NaN when zod must decide. */
export function decimalOf(v: unknown): number {
  if (typeof v === 'number') return v >= -MAX_MAGNITUDE && v <= MAX_MAGNITUDE ? toDecimal(v) : NaN;
  if (typeof v === 'string' && v.length <= 40 && DECIMAL.test(v)) {
    const n = Number(v);
    return n >= -MAX_MAGNITUDE && n <= MAX_MAGNITUDE ? toDecimal(n) : NaN;
  }
  return NaN;
}

/** `eventTime`'s shape (z.number() is finite only; strings up to 40 units). */
export function isTimeShape(v: unknown): boolean {
  return typeof v === 'number' ? Number.isFinite(v) : typeof v === 'string' && v.length <= 40;
}

const NO_ISSUES: IssueSink = { addIssue: () => undefined };
const MIN_PLAUSIBLE_EPOCH_MS = 1e11;

/** Days since the epoch of a proleptic Gregorian date (exact integer arithmetic, any year >= 0). */
function daysFromCivil(y: number, m: number, d: number): number {
  if (m <= 2) y--;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Two ASCII digits at i, or -1. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ` by fixed positions, or NaN when the string
 * is anything else (or a day past the 28th, left to Date.parse to judge).
 */
export function isoUtcOf(s: string): number {
  const len = s.length;
  if ((len !== 20 && len !== 24) || s.charCodeAt(len - 1) !== 90 /* Z */) return NaN;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return NaN;
  const hi = two(s, 0);
  const lo = two(s, 2);
  const month = two(s, 5);
  const day = two(s, 8);
  const hour = two(s, 11);
  const minute = two(s, 14);
  const second = two(s, 17);
  if (hi < 0 || lo < 0 || month < 1 || month > 12 || day < 1 || day > 28 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return NaN;
  }
  let ms = 0;
  if (len === 24) {
    if (s.charCodeAt(19) !== 46 /* . */) return NaN;
    const a = two(s, 20);
    const c = s.charCodeAt(22) - 48;
    if (a < 0 || c < 0 || c > 9) return NaN;
    ms = a * 10 + c;
  }
  return daysFromCivil(hi * 100 + lo, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + ms;
}

/** `eventTime` through toEventTime: epoch ms, or NaN when zod must decide (or reject). */
export function eventTimeOf(v: unknown): number {
  let ms: number;
  if (typeof v === 'number') {
    ms = v;
  } else if (typeof v === 'string' && v.length <= 40) {
    ms = isoUtcOf(v);
    if (ms !== ms) ms = toEventTime(v, '', NO_ISSUES);
  } else {
    return NaN;
  }
  // Also false for NaN and ±Infinity.
  return ms >= MIN_PLAUSIBLE_EPOCH_MS && ms <= MAX_EVENT_TIME_MS ? Math.trunc(ms) : NaN;
}

/** The event time under either spelling, with both spellings' shapes checked; NaN when zod must decide. */
export function timeOf(timestamp: unknown, eventTime: unknown): number {
  if (timestamp !== undefined) {
    if (eventTime !== undefined && !isTimeShape(eventTime)) return NaN;
    return eventTimeOf(timestamp);
  }
  return eventTime === undefined ? NaN : eventTimeOf(eventTime);
}
