/**
 * An event family: a zod schema of the raw JSON (shape only, so zod stays on its compiled fast
 * path) and a normaliser to the engine's shape. `schema` is the two joined as one zod schema, for
 * users; `parse` is the same validation for the ingest loop, without a zod transform's overhead.
 */
import * as z from '../zod.ts';
import type { PlainText } from './fast.ts';
import type { IssueSink } from './normalise.ts';

export type ParseResult<E> = { ok: true; event: E } | { ok: false; field: string | undefined; reason: string };

export interface EventFamily<E extends { eventTime: number }> {
  schema: z.ZodMiniType<E, unknown>;
  parse(input: unknown): ParseResult<E>;
  /**
   * The hand-written fast path alone: the event, or undefined when only `parseSlow` can tell.
   * `plain` (see PlainText in ./fast.ts) skips checks whose answer the caller already knows; the
   * result is the same either way.
   */
  parseFast(input: unknown, plain?: PlainText): E | undefined;
  /** `parse` without the fast path: zod and the normaliser only (the specification `parse` must match). */
  parseSlow(input: unknown): ParseResult<E>;
}

type Issue = { path: PropertyKey[]; message: string };

function failure(issues: readonly Issue[]): { ok: false; field: string | undefined; reason: string } {
  const issue = issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : undefined;
  const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : '';
  return { ok: false, field, reason: `${field ? `field "${field}": ` : ''}${issue.message}${more}` };
}

/**
 * `fast`, when given, is a hand-written parser of the common case: it returns the normalised event
 * only for input `raw` + `normalise` accept with that very output, and undefined whenever unsure;
 * zod then decides (and names the problem). test/unit/schemas-fast-path.test.ts checks the pair.
 */
export function eventFamily<R, E extends { eventTime: number }>(
  raw: z.ZodMiniType<R, unknown>,
  normalise: (raw: R, sink: IssueSink) => E,
  fast?: (input: unknown, plain?: PlainText) => E | undefined,
): EventFamily<E> {
  // One sink per family, reused: parsing is synchronous, and the hot path should not allocate it.
  const sink = { issues: [] as Issue[], addIssue: (i: Issue) => void sink.issues.push(i) };
  return {
    // zod/mini's transform context has no addIssue (the classic API adds one): the issues go to its list.
    schema: z.pipe(raw, z.transform((r: R, ctx) => normalise(r, { addIssue: (i) => void ctx.issues.push({ ...i, input: ctx.value }) }))) as unknown as z.ZodMiniType<E, unknown>,
    parse(input) {
      if (fast !== undefined) {
        const event = fast(input);
        if (event !== undefined) return { ok: true, event };
      }
      return slow(input);
    },
    parseFast: fast ?? (() => undefined),
    parseSlow: slow,
  };

  function slow(input: unknown): ParseResult<E> {
    const shaped = raw.safeParse(input);
    if (!shaped.success) return failure(shaped.error.issues);
    const event = normalise(shaped.data, sink);
    if (sink.issues.length === 0) return { ok: true, event };
    const issues = sink.issues;
    sink.issues = [];
    return failure(issues);
  }
}
