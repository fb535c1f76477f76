/**
 * One closer run: per pipeline, compute the watermark, then close every window of the due index
 * whose end it has passed and evaluate the rules on its final features. A window that raises no
 * alert is closed, given its verdict and taken out of the index in one write. One that does is
 * closed and its alerts recorded, and only then taken out of the index: a run that dies midway
 * leaves it closed in the index, and the next run finishes it (idempotently). The alert record is
 * the emission: the dispatcher sends it on from the alerts table's stream (lib/dispatcher), so the
 * closer never talks to the alert topic.
 *
 * Failures are sorted three ways, so that no window holds up the others:
 * - passing (throttling, 5xx, timeouts): the window, or the
 *   pipeline whose marks or due index could not be read, waits for the next run (`incomplete`);
 * - the window's own (DynamoDB refuses its result or alert item, its item is missing or
 *   malformed, the rules fail on it): the window is set
 *   aside, recorded with the reason for an operator and taken out of the due index;
 * - anything else (a missing grant, a bug outside one window's data, a crash) fails the run as
 *   before: it is no window's fault, and setting every window aside would hide an outage.
 */
import pLimit from 'p-limit';
import type { Pipeline } from '../pipelines/pipeline.ts';
import { evaluateRules } from '../rules/evaluate.ts';
import type { Rule } from '../rules/rule.ts';
import { isTransient, TransientStoreError } from '../store/errors.ts';
import { DUE_PAGE_SHARDS, DUE_SHARDS } from '../store/tables.ts';
import { featuresOf, type StoredWindow } from '../windows/features-of.ts';
import { groupAlertId } from './alert-group.ts';
import { closeBucket } from './close-buckets.ts';
import { outputFeatures } from './output-features.ts';
import { isDuePage, UnclosableWindowError, type Alert, type AlertStore, type CloserStore, type DueCursor, type DuePageEntry, type DueWindow, type SetAsideWindow, type SourceBacklog, type WindowVerdict } from './ports.ts';
import { watermarkOf, type WatermarkOptions } from './watermark.ts';

export interface CloserDeps {
  store: CloserStore;
  alerts: AlertStore;
  pipelines: readonly Pipeline[];
  /** The rules in force for this run (one consistent set for every window). */
  rules: () => Promise<readonly Rule[]>;
  watermark: WatermarkOptions;
  /** The source topics' uncommitted records, when known: a partition with a backlog is never idle. */
  backlog?: SourceBacklog;
  /** Pipelines whose every closed window records its risk level on its item. */
  resultPipelines: ReadonlySet<string>;
  concurrency: number;
  now: () => number;
  /** Milliseconds this run may still use; it stops taking new windows below `reserveMs`. */
  remainingMs: () => number;
  reserveMs: number;
  /**
   * True when this pass may leave a pipeline's due index unread at this watermark: a closer
   * session's later polls, when no window boundary was crossed since the pass before (./session.ts).
   */
  skipDueIndex?: (pipeline: string, watermark: number) => boolean;
  /**
   * False on a session's later polls: only the shards due pages go to are read. The others hold
   * entries from deployments before due pages, which nothing writes any more; the first pass of
   * every session reads them. Without it a fast pass repeated every poll would spend most of its
   * requests on empty shards (./session.ts).
   */
  readLegacyShards?: boolean;
  /** Test-only fault: called after a window's alerts are recorded and before it leaves the due index. */
  beforeFinish?: (window: DueWindow) => void | Promise<void>;
}

export interface PipelineReport {
  pipeline: string;
  watermark: number | undefined;
  closed: number;
  recovered: number;
  alerts: number;
  duplicateAlerts: number;
  /** Windows whose rules were evaluated: for a hopping pipeline, every window holding an event (several per bucket item). */
  windowsEvaluated?: number;
  /**
   * Hopping buckets left due for a window that alerts once the watermark reaches it; runs before
   * that find them and leave them as they are (not counted as closed or recovered).
   */
  waiting?: number;
  /** Windows left due after throttling outlasted the retries; the next run finishes them. */
  deferred: number;
  /** Windows that could not be closed, recorded and taken out of the due index (see `setAside`). */
  setAside: number;
  /** Why the pipeline's marks, watermark or part of its due index were not read this run, if so. */
  readsDeferred?: string;
}

export interface CloserReport {
  pipelines: PipelineReport[];
  /** True when due windows were left (out of time, or deferred after throttling); the next run continues. */
  incomplete: boolean;
  /** The windows set aside in this run, with the reason. */
  setAside: SetAsideWindow[];
}

function passes(err: unknown): boolean {
  return err instanceof TransientStoreError || isTransient(err);
}

/** A failure that is the window's own: retrying it every run would only repeat it. */
function isWindowFault(err: unknown): boolean {
  // DynamoDB refused an item of this window (over 400 KB, a value out of range...).
  return err instanceof UnclosableWindowError || (err instanceof Error && err.name === 'ValidationException');
}

const describe = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

const PAGE = 100;
/** Reads of a window a one-write close may take before the window takes the long way (each retry follows a late write). */
const QUIET_ATTEMPTS = 3;

export async function closeWindows(deps: CloserDeps): Promise<CloserReport> {
  const report: CloserReport = { pipelines: [], incomplete: false, setAside: [] };
  let rules: readonly Rule[];
  try {
    rules = await deps.rules();
  } catch (err) {
    // Rules never loaded and their table throttled: nothing can be evaluated yet.
    if (!passes(err)) throw err;
    report.incomplete = true;
    return report;
  }
  const limit = pLimit(deps.concurrency);

  // Pipelines are closed side by side: a pass's round trips to the table (marks, due index) would
  // otherwise add up pipeline after pipeline, and one slow pipeline would hold up the others'
  // at-close alerts. They share the pool, so the table sees no more than `concurrency` closes.
  const closePipeline = async (pipeline: Pipeline, pr: PipelineReport): Promise<void> => {
    const deferReads = (err: unknown) => {
      if (!passes(err)) throw err;
      pr.readsDeferred ??= describe(err);
      report.incomplete = true;
    };
    let watermark: number;
    try {
      // The backlog never fails (unknown is undefined), so both are read at once.
      const [marks, backlog] = await Promise.all([deps.store.partitionMarks(pipeline.source.topic), deps.backlog?.of(pipeline.source.topic)]);
      const computed = watermarkOf(marks, deps.now(), deps.watermark, pipeline.source.topic, backlog);
      if (computed === undefined) return;
      // Never move backwards, even if a partition's mark was reset or a late closer computed less.
      watermark = await deps.store.saveWatermark(pipeline.name, computed);
    } catch (err) {
      // The other pipelines still close; this one waits for the next run.
      deferReads(err);
      return;
    }
    pr.watermark = watermark;
    if (deps.skipDueIndex?.(pipeline.name, watermark)) return;

    /** The rules on a window's content; a failure is the window's own. */
    const judge = (due: DueWindow, window: StoredWindow) => {
      try {
        const features = featuresOf(pipeline, window.slots);
        return { features, verdict: evaluateRules(rules, pipeline.name, features) };
      } catch (err) {
        throw new UnclosableWindowError(`rules could not be evaluated on window ${pipeline.name}/${due.key}/${due.windowStart}: ${describe(err)}`, { cause: err });
      }
    };
    const verdictOf = (verdict: ReturnType<typeof evaluateRules>, now: number): WindowVerdict | undefined =>
      deps.resultPipelines.has(pipeline.name) ? { level: verdict.level, evaluatedAt: now } : undefined;

    /**
     * Most windows raise no alert: read, judge, then close and leave the due index in one write
     * that holds only if nothing was written since the read (docs/design.md, "Closing a window").
     * False when the window takes the long way: it raises alerts, or a run closed it before.
     * 'skip' for a window a due page lists that has nothing left to close: gone, or finished.
     */
    const closeQuietly = async (due: DueWindow, fromPage: boolean): Promise<boolean | 'skip'> => {
      for (let attempt = 0; attempt < QUIET_ATTEMPTS; attempt++) {
        const window = await deps.store.read(due);
        if (!window && fromPage) return 'skip';
        if (!window) throw new UnclosableWindowError(`window ${pipeline.name}/${due.key}/${due.windowStart} is in the due index but not in the table`);
        if (fromPage && window.finished) return 'skip';
        if (window.closedAt !== undefined || window.version === undefined) return false;
        const { verdict } = judge(due, window);
        if (verdict.alerts.length > 0) return false;
        const outcome = await deps.store.closeQuietly(due, window.version, deps.now(), verdictOf(verdict, deps.now()));
        if (outcome === 'closed') return true;
        if (outcome === 'closed-before') return false;
        // A late write landed between the read and the close: judge what it left.
      }
      return false;
    };

    /** Closes a window and records its alerts; whether this run closed it (or found it closed), and its verdict. */
    const closeAndRecord = async (due: DueWindow): Promise<{ closedNow: boolean; verdict: WindowVerdict | undefined }> => {
      const { window, closedNow } = await deps.store.close(due, deps.now());
      const { features, verdict } = judge(due, window);
      const now = deps.now();
      // Alerts carry counts and a bounded sample, never a window's whole sets.
      const output = outputFeatures(features);
      const alerts: Alert[] = verdict.alerts.map((rule) => ({
        id: groupAlertId(pipeline, due.key, due.windowStart, rule),
        pipeline: pipeline.name,
        rule: rule.id,
        alertType: rule.alertType,
        level: rule.level ?? verdict.level,
        key: due.key,
        windowStart: due.windowStart,
        windowEnd: due.windowEnd,
        features: output,
        raisedAt: now,
      }));
      for (const alert of alerts) {
        if (await deps.alerts.putAlert(alert)) pr.alerts++;
        else pr.duplicateAlerts++;
      }
      return { closedNow, verdict: verdictOf(verdict, now) };
    };

    /** Records the window with the reason, then takes it out of the due index. */
    const setAside = async (due: DueWindow, err: unknown) => {
      const record: SetAsideWindow = { pipeline: pipeline.name, key: due.key, windowStart: due.windowStart, windowEnd: due.windowEnd, reason: describe(err), at: deps.now() };
      // Recorded first: a run that dies between the two leaves it due, and the next records it again.
      await deps.alerts.putSetAside(record);
      await deps.store.setAside(due, record.at);
      pr.setAside++;
      report.setAside.push(record);
    };

    /** True when the window is settled (set aside), false when it stays due for the next run. */
    const onFailure = async (due: DueWindow, err: unknown): Promise<boolean> => {
      try {
        if (!isWindowFault(err)) throw err;
        await setAside(due, err);
        return true;
      } catch (failure) {
        // One throttled window must not cost the run every other window: it stays due for the next.
        if (!passes(failure)) throw failure;
        pr.deferred++;
        report.incomplete = true;
        return false;
      }
    };

    /** A hopping pipeline's due bucket (./close-buckets.ts): true when it is done with for this run. */
    const closeBucketOrSetAside = async (due: DueWindow, fromPage: boolean): Promise<boolean> => {
      try {
        const outcome = await closeBucket(
          { store: deps.store, alerts: deps.alerts, pipeline, watermark, now: deps.now, judge: (d, slots) => judge(d, { ...due, closedAt: undefined, slots }), ...(deps.beforeFinish ? { beforeFinish: deps.beforeFinish } : {}) },
          due,
          fromPage,
        );
        if (outcome.gone) return true;
        if (outcome.waiting) {
          pr.waiting = (pr.waiting ?? 0) + 1;
          return true;
        }
        pr.windowsEvaluated = (pr.windowsEvaluated ?? 0) + outcome.evaluated;
        pr.alerts += outcome.alerts;
        pr.duplicateAlerts += outcome.duplicateAlerts;
        if (outcome.closedNow) pr.closed++;
        else pr.recovered++;
        return true;
      } catch (err) {
        // Set aside, the key's later buckets go on; left for the next run, they wait for it.
        const deferred = pr.deferred;
        await onFailure(due, err);
        return pr.deferred === deferred;
      }
    };

    /** True when the window is settled (closed, set aside, or nothing to close), false when it stays due. */
    const closeOrSetAside = async (due: DueWindow, fromPage: boolean): Promise<boolean> => {
      let closedNow: boolean;
      let verdict: WindowVerdict | undefined;
      try {
        const quiet = await closeQuietly(due, fromPage);
        if (quiet === 'skip') return true;
        if (quiet) {
          pr.closed++;
          return true;
        }
        ({ closedNow, verdict } = await closeAndRecord(due));
      } catch (err) {
        return onFailure(due, err);
      }
      // Outside the catch: a crash simulated here ends the run, as a real one would.
      await deps.beforeFinish?.(due);
      try {
        await deps.store.finish(due, verdict, deps.now());
      } catch (err) {
        return onFailure(due, err);
      }
      // Counted once done: a window set aside or left for the next run is counted as such.
      if (closedNow) pr.closed++;
      else pr.recovered++;
      return true;
    };

    // The next page is read as soon as the pool has less than a page waiting, whatever the windows
    // in flight are doing: one slow window (a throttle in its SDK retries) holds up only itself.
    const started: Promise<void>[] = [];
    let waiting = 0;
    let wake: (() => void) | undefined;
    let fatal: { err: unknown } | undefined;
    // A hopping key's buckets are evaluated one after the other, oldest first (the index's order
    // within a shard, and a key is in one shard), so the first matching window of a group is the
    // one that records its alert. A bucket left for the next run holds back the key's later ones.
    const hoppingKeys = pipeline.window.kind === 'hopping' ? new Map<string, Promise<boolean>>() : undefined;
    // Each window once per pass, however many due pages (and its own entry) list it: its outcome,
    // true when settled, which a page waits for before it goes.
    const seen = new Map<string, Promise<boolean>>();
    const enqueue = (due: DueWindow, fromPage: boolean): Promise<boolean> => {
      const id = `${due.windowStart}#${due.key}`;
      const before = seen.get(id);
      if (before) return before;
      waiting++;
      let run: Promise<boolean>;
      if (hoppingKeys) {
        const before = hoppingKeys.get(due.key) ?? Promise.resolve(true);
        const mine = before.then((ok) =>
          limit(async () => {
            waiting--;
            wake?.();
            if (fatal) return false;
            if (!ok) {
              pr.deferred++;
              report.incomplete = true;
              return false;
            }
            return closeBucketOrSetAside(due, fromPage);
          }),
        );
        hoppingKeys.set(due.key, mine.catch(() => false));
        run = mine;
      } else {
        run = limit(async () => {
          waiting--;
          wake?.();
          if (fatal) return false;
          return closeOrSetAside(due, fromPage);
        });
      }
      const settled = run.then(
        (ok) => ok,
        (err: unknown) => {
          fatal ??= { err };
          wake?.();
          return false;
        },
      );
      seen.set(id, settled);
      started.push(settled.then(() => undefined));
      return settled;
    };
    /** A due page's windows, each as if listed on its own; the page goes once all are settled. */
    const enqueuePage = (entry: DuePageEntry, windows: DueWindow[]) => {
      const outcomes = windows.map((w) => enqueue(w, true));
      started.push(
        Promise.all(outcomes).then(async (settled) => {
          if (fatal || !settled.every(Boolean)) return;
          try {
            await deps.store.deleteDuePage(entry);
          } catch (err) {
            // Left for the next pass, which finds its windows settled and deletes it then.
            if (!passes(err)) {
              fatal ??= { err };
              return;
            }
            pr.readsDeferred ??= describe(err);
            report.incomplete = true;
          }
        }),
      );
    };
    const drain = async () => {
      await Promise.all(started);
      if (fatal) throw fatal.err;
    };
    // Every shard's first page is asked for at once: most shards are empty (pages go to the first
    // DUE_PAGE_SHARDS; the rest hold entries from deployments before due pages), and one query
    // after another would make each pass wait a round trip per shard. They are still taken in
    // shard order, so nothing else about the order changes.
    const shards = deps.readLegacyShards === false ? DUE_PAGE_SHARDS : DUE_SHARDS;
    const firstPages = Array.from({ length: shards }, (_, shard) =>
      deps.store.dueWindows(pipeline.name, shard, watermark, PAGE).then(
        (page) => ({ page }),
        (err: unknown) => ({ err }),
      ),
    );
    for (let shard = 0; shard < shards; shard++) {
      let cursor: DueCursor | undefined;
      let first = true;
      do {
        while (waiting >= PAGE && !fatal) await new Promise<void>((resolve) => (wake = resolve));
        if (fatal) await drain();
        if (deps.remainingMs() < deps.reserveMs) {
          report.incomplete = true;
          await drain();
          return;
        }
        let page: Awaited<ReturnType<CloserStore['dueWindows']>>;
        try {
          if (first) {
            first = false;
            const answer = await firstPages[shard]!;
            if ('err' in answer) throw answer.err;
            page = answer.page;
          } else {
            page = await deps.store.dueWindows(pipeline.name, shard, watermark, PAGE, cursor);
          }
        } catch (err) {
          // This shard's rest waits for the next run; the other shards are read.
          deferReads(err);
          break;
        }
        cursor = page.next;
        // The pages' windows are read first, all at once, then everything is taken in index order,
        // so a key's buckets still come oldest first.
        let listed: (DueWindow[] | undefined)[];
        try {
          listed = await Promise.all(page.windows.map((e) => (isDuePage(e) ? deps.store.readDuePage(e) : undefined)));
        } catch (err) {
          deferReads(err);
          break;
        }
        page.windows.forEach((e, i) => {
          if (!isDuePage(e)) void enqueue(e, false);
          else if (listed[i]) enqueuePage(e, listed[i]!);
        });
      } while (cursor);
    }
    await drain();
  };
  const pipelineReports = deps.pipelines.map((pipeline): PipelineReport => ({ pipeline: pipeline.name, watermark: undefined, closed: 0, recovered: 0, alerts: 0, duplicateAlerts: 0, deferred: 0, setAside: 0 }));
  report.pipelines.push(...pipelineReports);
  // Every pipeline runs to its end before a failure fails the run: none is left working after it.
  const outcomes = await Promise.allSettled(deps.pipelines.map((pipeline, i) => closePipeline(pipeline, pipelineReports[i]!)));
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
  return report;
}

