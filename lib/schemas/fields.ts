/**
 * Field schemas shared by the event families. They check shape only (no transforms), which keeps
 * zod on its compiled fast path; conversions (numeric strings, timestamps) happen in ./normalise.ts.
 */
import * as z from '../zod.ts';
import { nameProblem, nfc } from './text.ts';

/** Longest string accepted in any event field; longer values are quarantined, never truncated. */
export const MAX_FIELD_CHARS = 256;

/** Magnitude bound: far beyond any amount or reading, well inside DynamoDB's number range. */
export const MAX_MAGNITUDE = 1e15;

/**
 * Decimal places kept of every number (amounts, readings): values are rounded to a millionth, half
 * away from zero, so that sums are exact sums of whole millionths (lib/pipelines/exact.ts). A
 * non-zero value that would round to 0 is refused as an underflow rather than silently zeroed.
 */
export const DECIMAL_PLACES = 6;
export const DECIMAL_SCALE = 1e6;

/**
 * Event times accepted: from March 1973 (below 1e11 ms is taken for epoch seconds) to the last
 * millisecond of year 9999, the last an ISO-8601 date can write. Every window of such a time fits
 * in a JavaScript Date and in a DynamoDB number.
 */
export const MIN_EVENT_TIME_MS = 1e11;
export const MAX_EVENT_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Union errors otherwise read "Invalid input": say what was expected, or that it is missing. */
const expected = (what: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? 'required' : `expected ${what}`) });

/** A bounded, non-empty string that is a name by the rule of ./text.ts (normalised to NFC later). */
export const text = z.string().check(
  z.minLength(1, 'must not be empty'),
  z.maxLength(MAX_FIELD_CHARS, `longer than ${MAX_FIELD_CHARS} characters`),
  z.superRefine((s, ctx) => {
    const problem = nameProblem(s);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    // NFC may lengthen a string (U+0958 becomes two code points); the raw length is checked above.
    else if (s.length > 0 && [...s].length <= MAX_FIELD_CHARS && [...nfc(s)].length > MAX_FIELD_CHARS) ctx.addIssue({ code: 'custom', message: `longer than ${MAX_FIELD_CHARS} characters in NFC` });
  }),
);

/** An id the source system sends as a number or a string. */
export const id = z.union([text, z.number().check(z.int(), z.nonnegative())], expected('a string or a non-negative integer'));

const magnitude = `must be a finite number within ±${MAX_MAGNITUDE}`;

/** A number, also accepted as a numeric string (some producers quote decimals). */
export const decimal = z.union(
  [
    z.number().check(z.minimum(-MAX_MAGNITUDE, magnitude), z.maximum(MAX_MAGNITUDE, magnitude)),
    z.string().check(z.maxLength(40, 'expected a number'), z.regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'expected a number')),
  ],
  expected('a number'),
);

/** Event time as sent: an ISO-8601 string or epoch milliseconds (number or digit string). */
export const eventTime = z.union([z.number(), z.string().check(z.maxLength(40))], expected('an ISO-8601 string or epoch milliseconds'));
