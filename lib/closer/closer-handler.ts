/**
 * The closer as a plain async handler built from its dependencies, like ingest's
 * (lib/ingest/kafka-handler.ts): each invocation takes its time budget from its own Lambda
 * context, so two invocations in one process (a local twin closer, a test) never share one.
 * Logging and metrics are attached at the edge (functions/close-windows.ts).
 */
import { closeWindows, type CloserDeps, type CloserReport } from './close-windows.ts';

/** What the closer needs of the Lambda context. */
export interface CloserContext {
  getRemainingTimeInMillis(): number;
}

export type CloserHandler = (event: unknown, context: CloserContext) => Promise<CloserReport>;

/** Builds the closer handler; `onReport` sees each run's report and when the run started. */
export function createCloserHandler(
  deps: Omit<CloserDeps, 'remainingMs'>,
  onReport: (report: CloserReport, startedAt: number) => void = () => {},
): CloserHandler {
  return async (_event, context) => {
    const startedAt = Date.now();
    const report = await closeWindows({ ...deps, remainingMs: () => context.getRemainingTimeInMillis() });
    onReport(report, startedAt);
    return report;
  };
}
