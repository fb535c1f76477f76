/**
 * Field schemas shared by the event families. They check shape only (no transforms), which keeps
 * zod on its compiled fast path; conversions (numeric strings, timestamps) happen in ./normalise.ts.
 */
import { z } from 'zod';

/** Longest string accepted in any event field; longer values are quarantined, never truncated. */
export const MAX_FIELD_CHARS = 256;

/** Magnitude bound: far beyond any amount or reading, well inside DynamoDB's number range. */
export const MAX_MAGNITUDE = 1e15;

/** Union errors otherwise read "Invalid input": say what was expected, or that it is missing. */
const expected = (what: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? 'required' : `expected ${what}`) });

/** A bounded, non-empty string. */
export const text = z.string().min(1, 'must not be empty').max(MAX_FIELD_CHARS, `longer than ${MAX_FIELD_CHARS} characters`);

/** An id the source system sends as a number or a string. */
export const id = z.union([text, z.number().int().nonnegative()], expected('a string or a non-negative integer'));

const magnitude = `must be a finite number within ±${MAX_MAGNITUDE}`;

/** A number, also accepted as a numeric string (some producers quote decimals). */
export const decimal = z.union(
  [
    z.number().min(-MAX_MAGNITUDE, magnitude).max(MAX_MAGNITUDE, magnitude),
    z.string().max(40, 'expected a number').regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'expected a number'),
  ],
  expected('a number'),
);

/** Event time as sent: an ISO-8601 string or epoch milliseconds (number or digit string). */
export const eventTime = z.union([z.number(), z.string().max(40)], expected('an ISO-8601 string or epoch milliseconds'));
