/**
 * A closer session (docs/design.md, "Closer sessions"): one scheduled invocation keeps closing for
 * up to `sessionMs`, a pass every `pollMs`, instead of one pass per schedule tick. EventBridge
 * cannot schedule more often than once a minute, so without it an at-close alert waits up to a
 * minute after the watermark passes its window; with it, about one poll.
 *
 * A poll that finds no pipeline's watermark across one of its window boundaries (and nothing left
 * from the pass before) skips that pipeline's due index: no window can have become due. The first
 * pass of a session reads every due index, so whatever a crashed or idle-rule run left is found;
 * later polls read only the shards due pages go to (the rest hold entries from before due pages).
 */
import { closeWindows, type CloserDeps, type CloserReport, type PipelineReport } from './close-windows.ts';

export interface SessionOptions {
  /** How long the session keeps polling after its first pass; 0: one pass only. */
  sessionMs: number;
  pollMs: number;
}

/** Whether a window boundary (a multiple of `advanceMs`) lies in (from, to]. */
export function crossesBoundary(from: number, to: number, advanceMs: number): boolean {
  return Math.floor(to / advanceMs) > Math.floor(from / advanceMs);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sums the passes of one session into one report (watermarks are the last pass's). */
export function mergeReports(passes: readonly CloserReport[]): CloserReport {
  const byPipeline = new Map<string, PipelineReport>();
  for (const pass of passes) {
    for (const p of pass.pipelines) {
      const seen = byPipeline.get(p.pipeline);
      if (!seen) {
        byPipeline.set(p.pipeline, { ...p });
        continue;
      }
      seen.watermark = p.watermark ?? seen.watermark;
      seen.closed += p.closed;
      seen.recovered += p.recovered;
      seen.alerts += p.alerts;
      seen.duplicateAlerts += p.duplicateAlerts;
      seen.setAside += p.setAside;
      if (p.windowsEvaluated !== undefined) seen.windowsEvaluated = (seen.windowsEvaluated ?? 0) + p.windowsEvaluated;
      // What is still left is the last pass's to say.
      seen.deferred = p.deferred;
      if (p.waiting === undefined) delete seen.waiting;
      else seen.waiting = p.waiting;
      if (p.readsDeferred === undefined) delete seen.readsDeferred;
      else seen.readsDeferred = p.readsDeferred;
    }
  }
  return {
    pipelines: [...byPipeline.values()],
    incomplete: passes.at(-1)?.incomplete ?? false,
    setAside: passes.flatMap((p) => p.setAside),
  };
}

/**
 * Runs passes until `sessionMs` has gone by (or the invocation's time runs short), each seeing the
 * previous pass's watermarks so that it can skip due indexes no boundary was crossed for.
 * `onPass` sees each pass's report and when it started (metrics, logs).
 */
export async function closeInSession(
  deps: CloserDeps,
  session: SessionOptions,
  onPass: (report: CloserReport, startedAt: number) => void,
  clock: { now: () => number; sleep: (ms: number) => Promise<void> } = { now: Date.now, sleep },
): Promise<CloserReport> {
  const started = clock.now();
  const passes: CloserReport[] = [];
  let previous: CloserReport | undefined;
  for (;;) {
    const passStart = clock.now();
    const report = await closeWindows(previous ? { ...deps, skipDueIndex: skipFor(deps, previous), readLegacyShards: false } : deps);
    onPass(report, passStart);
    passes.push(report);
    previous = report;
    const next = clock.now() + session.pollMs;
    // Another pass only if it fits the session and leaves the invocation its reserve after it.
    if (next - started > session.sessionMs || deps.remainingMs() - session.pollMs <= deps.reserveMs * 2) break;
    await clock.sleep(session.pollMs);
  }
  return mergeReports(passes);
}

/** The test a pass applies per pipeline to skip its due index, from the pass before. */
function skipFor(deps: CloserDeps, previous: CloserReport): (pipeline: string, watermark: number) => boolean {
  const before = new Map(previous.pipelines.map((p) => [p.pipeline, p]));
  const advance = new Map(deps.pipelines.map((p) => [p.name, p.window.advanceMs]));
  return (pipeline, watermark) => {
    const p = before.get(pipeline);
    // Unknown before, or something was left: read the index.
    if (!p || p.watermark === undefined || previous.incomplete || p.deferred > 0 || p.readsDeferred !== undefined) return false;
    return !crossesBoundary(p.watermark, watermark, advance.get(pipeline) ?? 1);
  };
}
