import { z } from 'zod';

/** Longest string accepted in any event field; longer values are quarantined, never truncated. */
export const MAX_FIELD_CHARS = 256;

/** Epoch ms below this (March 1973) are almost surely epoch seconds sent by mistake. */
const MIN_PLAUSIBLE_EPOCH_MS = 1e11;
/** Union errors otherwise read "Invalid input"; say what was expected, or that it is missing. */
const expected = (what: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? 'required' : `expected ${what}`) });

const ISO_8601 = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** A bounded, non-empty string. */
export const text = z.string().min(1, 'must not be empty').max(MAX_FIELD_CHARS, `longer than ${MAX_FIELD_CHARS} characters`);

/** An id the source system sends as a number or a string; normalised to a string. */
export const id = z.union([text, z.number().int().nonnegative()], expected('a string or a non-negative integer')).transform(String);

/** Magnitude bound: far beyond any amount or reading, well inside DynamoDB's number range. */
export const MAX_MAGNITUDE = 1e15;

/** A finite number, also accepted as a numeric string (some producers quote decimals). */
export const decimal = z
  .union([z.number(), z.string().max(40).regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/).transform(Number)], expected('a number'))
  .refine((n) => Number.isFinite(n) && Math.abs(n) <= MAX_MAGNITUDE, `must be a finite number within ±${MAX_MAGNITUDE}`);

/** Event time: an ISO-8601 string or epoch milliseconds (number or digit string); normalised to epoch ms. */
export const eventTime = z.union([z.number(), z.string().max(40)], expected('an ISO-8601 string or epoch milliseconds')).transform((raw, ctx): number => {
  const ms = typeof raw === 'number' || /^\d+$/.test(raw) ? Number(raw) : ISO_8601.test(raw) ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: `unparseable timestamp ${JSON.stringify(raw)} (want ISO-8601 or epoch ms)` });
    return z.NEVER;
  }
  if (ms < MIN_PLAUSIBLE_EPOCH_MS) {
    ctx.addIssue({ code: 'custom', message: `timestamp ${raw} looks like epoch seconds; send epoch milliseconds` });
    return z.NEVER;
  }
  return Math.trunc(ms);
});
