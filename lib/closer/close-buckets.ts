/**
 * The closer's path for a hopping pipeline (docs/design.md, "Closing hopping windows"): its items
 * are buckets of one advance A, and a window W = [E - S, E) is the merge of the key's buckets with
 * start in [E - S, E - A]. Every window holding an event is evaluated exactly once in effect, when
 * the watermark reaches its end, from one strongly consistent Query of the key's buckets.
 *
 * Who evaluates which window: a bucket b is RESPONSIBLE for the window ends E in [b + A, b + S]
 * that no newer bucket of its key holds, i.e. up to the next bucket's start. Each window holding
 * an event has exactly one newest bucket, so exactly one responsible bucket; windows holding no
 * event have none and are never evaluated.
 *
 * A due bucket (the watermark passed its end b + A, so it takes no more writes):
 * 1. Query the key's buckets in [b + A - S, b + S - A]: every bucket of every window b is in, and
 *    the next newer bucket if any, which ends b's responsibility.
 * 2. Evaluate each window it is responsible for. Windows that end after the watermark can already
 *    be judged: their buckets are all b or older, all ended, so their content is final unless a
 *    newer bucket appears, which would take those windows over.
 * 3. No window raises an alert (the common case): close the bucket and take it out of the due
 *    index in one write, conditional on the version read (a late write in between: judge again).
 *    Otherwise: close it, read again, record the alerts of the windows ended by the watermark in
 *    end order, and only then either take it out of the index (no later window of it alerts) or
 *    record `evaluatedThrough` and leave it due for the run whose watermark reaches the next one.
 *    Runs before that one find it in the index (listed at its own end) and leave it untouched.
 *
 * Crash-safe: alerts are recorded before the progress that says so, and every step is idempotent
 * (close if not closed, alert records per group id, progress never moves back), so a run that dies
 * anywhere is repeated by the next one, which repeats work but loses no window. The cost: one
 * Query and one write per bucket that alerts on nothing, however many windows it is responsible
 * for, never a write per window.
 */
import type { Pipeline } from '../pipelines/pipeline.ts';
import type { Evaluation } from '../rules/evaluate.ts';
import type { AlertingRule } from '../rules/rule.ts';
import type { StoredBucket } from '../store/ports.ts';
import { bucketsOfWindow, mergeBuckets } from '../windows/merge-buckets.ts';
import type { Features } from '../windows/features-of.ts';
import { groupAlertId } from './alert-group.ts';
import { outputFeatures } from './output-features.ts';
import { UnclosableWindowError, type Alert, type AlertStore, type CloserStore, type DueWindow } from './ports.ts';

export interface BucketCloserDeps {
  store: CloserStore;
  alerts: AlertStore;
  pipeline: Pipeline;
  watermark: number;
  now: () => number;
  /** The rules on one window's merged content; a failure is the window's own (UnclosableWindowError). */
  judge: (due: DueWindow, slots: StoredBucket['window']['slots']) => { features: Features; verdict: Evaluation };
  /** Test-only fault: after the alerts are recorded, before the progress that says so. */
  beforeFinish?: (window: DueWindow) => void | Promise<void>;
}

/** What one due bucket took: windows evaluated, alerts recorded, and whether it is done. */
export interface BucketOutcome {
  /** This run closed the bucket (false: a run before had, and this one carried on from its progress). */
  closedNow: boolean;
  /**
   * Nothing to do until the watermark reaches the bucket's next window that alerts: a run before
   * evaluated what the watermark allows and left it due. Nothing was written.
   */
  waiting?: true;
  /** Listed on a due page but not in the table: nothing to close. */
  gone?: true;
  /** Windows whose evaluation this run completed. */
  evaluated: number;
  alerts: number;
  duplicateAlerts: number;
}

/** Reads of a bucket a one-write close may take before it takes the long way. */
const QUIET_ATTEMPTS = 3;

interface Judged {
  end: number;
  features: Features;
  alerts: AlertingRule[];
  level: Evaluation['level'];
}

/** Evaluates one due bucket of a hopping pipeline; see the module comment. */
export async function closeBucket(deps: BucketCloserDeps, due: DueWindow, fromPage = false): Promise<BucketOutcome> {
  const { store, pipeline } = deps;
  const { sizeMs: S, advanceMs: A } = pipeline.window;
  const b = due.windowStart;
  const where = `bucket ${pipeline.name}/${due.key}/${b}`;

  const read = async () => {
    const buckets = await store.buckets(pipeline.name, due.key, b + A - S, b + S - A);
    const self = buckets.find((x) => x.window.windowStart === b);
    if (!self && fromPage) return undefined;
    if (!self) throw new UnclosableWindowError(`${where} is in the due index but not in the table`);
    const newer = buckets.find((x) => x.window.windowStart > b);
    // Responsible for window ends up to the next bucket's start (that bucket holds every later window of b's).
    const lastEnd = Math.min(b + S, newer ? newer.window.windowStart : Infinity);
    const firstEnd = self.evaluatedThrough !== undefined ? Math.max(b + A, self.evaluatedThrough + A) : b + A;
    const judged: Judged[] = [];
    for (let end = firstEnd; end <= lastEnd; end += A) {
      const { features, verdict } = deps.judge(due, mergeBuckets(pipeline, bucketsOfWindow(buckets, end, S, A).map((x) => x.window)));
      judged.push({ end, features, alerts: verdict.alerts, level: verdict.level });
    }
    return { self, judged };
  };

  let closedNow = false;
  const gone: BucketOutcome = { closedNow: false, gone: true, evaluated: 0, alerts: 0, duplicateAlerts: 0 };
  for (let attempt = 0; attempt < QUIET_ATTEMPTS; attempt++) {
    const found = await read();
    if (!found) return gone;
    const { self, judged } = found;
    // A racing run finished it: nothing left.
    if (!self.due) return { closedNow: false, evaluated: 0, alerts: 0, duplicateAlerts: 0 };
    // Left due by a run before for a window the watermark has not reached: the index still lists
    // it at its own end, so every run finds it; this one has nothing to record, and writes nothing.
    if (self.window.closedAt !== undefined && self.evaluatedThrough !== undefined && judged.length > 0 && judged[0]!.end > deps.watermark) {
      return { closedNow: false, waiting: true, evaluated: 0, alerts: 0, duplicateAlerts: 0 };
    }
    if (self.window.closedAt !== undefined || self.window.version === undefined) break;
    if (judged.some((j) => j.alerts.length > 0)) break;
    const outcome = await store.closeQuietly(due, self.window.version, deps.now());
    if (outcome === 'closed') return { closedNow: true, evaluated: judged.length, alerts: 0, duplicateAlerts: 0 };
    if (outcome === 'closed-before') break;
    // A late write landed between the read and the close: judge what it left.
  }

  // The long way: closed first, so what is read next is final.
  closedNow = (await store.close(due, deps.now())).closedNow;
  const found = await read();
  if (!found) return gone;
  const { self, judged } = found;
  if (!self.due) return { closedNow, evaluated: 0, alerts: 0, duplicateAlerts: 0 };
  let alerts = 0;
  let duplicateAlerts = 0;
  let evaluatedThrough: number | undefined;
  let evaluated = 0;
  // In end order: the first matching window of a group records it (the reference's choice too).
  for (const j of judged) {
    if (j.end > deps.watermark) break;
    if (j.alerts.length > 0) {
      const output = outputFeatures(j.features);
      const now = deps.now();
      for (const rule of j.alerts) {
        const windowStart = j.end - S;
        const alert: Alert = {
          id: groupAlertId(pipeline, due.key, windowStart, rule),
          pipeline: pipeline.name,
          rule: rule.id,
          alertType: rule.alertType,
          level: rule.level ?? j.level,
          key: due.key,
          windowStart,
          windowEnd: j.end,
          features: output,
          raisedAt: now,
        };
        if (await deps.alerts.putAlert(alert)) alerts++;
        else duplicateAlerts++;
      }
    }
    evaluatedThrough = j.end;
    evaluated++;
  }
  // Outside any catch: a crash simulated here ends the run, as a real one would.
  await deps.beforeFinish?.(due);
  const pending = judged.some((j) => j.end > deps.watermark && j.alerts.length > 0);
  if (!pending) {
    // Windows after the watermark that raise nothing need no later visit: count them evaluated.
    evaluated = judged.length;
    await store.finish(due, undefined, deps.now());
  } else if (evaluatedThrough !== undefined) {
    await store.advanceBucket(due, evaluatedThrough);
  }
  return { closedNow, evaluated, alerts, duplicateAlerts };
}
