/**
 * The closer as a plain async handler built from its dependencies, like ingest's
 * (lib/ingest/kafka-handler.ts): each invocation takes its time budget from its own Lambda
 * context, so two invocations in one process (a local twin closer, a test) never share one.
 * Logging and metrics are attached at the edge (functions/close-windows.ts).
 */
import { closeWindows, type CloserDeps, type CloserReport } from './close-windows.ts';
import { closeInSession, type SessionOptions } from './session.ts';

/** What the closer needs of the Lambda context. */
export interface CloserContext {
  getRemainingTimeInMillis(): number;
}

export type CloserHandler = (event: unknown, context: CloserContext) => Promise<CloserReport>;

/**
 * The event that asks for one pass whatever the session settings: an operator's or a test's
 * invocation that wants its report now (the schedule's events run a session).
 */
export const SINGLE_PASS_EVENT = Object.freeze({ mode: 'single-pass' });

const wantsSinglePass = (event: unknown): boolean =>
  typeof event === 'object' && event !== null && (event as { mode?: unknown }).mode === SINGLE_PASS_EVENT.mode;

/**
 * Builds the closer handler; `onReport` sees each pass's report and when the pass started. With a
 * session (`session.sessionMs` > 0) a scheduled invocation keeps closing for that long, a pass
 * every `session.pollMs` (./session.ts), and returns the session's passes summed.
 */
export function createCloserHandler(
  deps: Omit<CloserDeps, 'remainingMs'>,
  onReport: (report: CloserReport, startedAt: number) => void = () => {},
  session: SessionOptions = { sessionMs: 0, pollMs: 0 },
): CloserHandler {
  return async (event, context) => {
    const withTime: CloserDeps = { ...deps, remainingMs: () => context.getRemainingTimeInMillis() };
    if (session.sessionMs > 0 && !wantsSinglePass(event)) return closeInSession(withTime, session, onReport);
    const startedAt = Date.now();
    const report = await closeWindows(withTime);
    onReport(report, startedAt);
    return report;
  };
}
