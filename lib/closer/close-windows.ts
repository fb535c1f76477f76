/**
 * One closer run: per pipeline, compute the watermark, then close every window of the due index
 * whose end it has passed, evaluate the rules on the window's final features, record results and
 * alerts, emit alerts, and only then take the window out of the due index. A run that dies midway
 * leaves closed windows in the index; the next run finds them and finishes them (idempotently).
 */
import pLimit from 'p-limit';
import type { Pipeline } from '../pipelines/pipeline.ts';
import { evaluateRules } from '../rules/evaluate.ts';
import type { Rule } from '../rules/rule.ts';
import { isTransient } from '../store/errors.ts';
import { DUE_SHARDS } from '../store/tables.ts';
import { featuresOf } from '../windows/features-of.ts';
import { alertId } from './alert-id.ts';
import { outputFeatures } from './output-features.ts';
import type { Alert, AlertSink, AlertStore, CloserStore, DueCursor, DueWindow, SourceBacklog } from './ports.ts';
import { watermarkOf, type WatermarkOptions } from './watermark.ts';

export interface CloserDeps {
  store: CloserStore;
  alerts: AlertStore;
  sink: AlertSink;
  pipelines: readonly Pipeline[];
  /** The rules in force for this run (one consistent set for every window). */
  rules: () => Promise<readonly Rule[]>;
  watermark: WatermarkOptions;
  /** The source topics' uncommitted records, when known: a partition with a backlog is never idle. */
  backlog?: SourceBacklog;
  /** Pipelines whose every closed window gets a result record (the risk verdict). */
  resultPipelines: ReadonlySet<string>;
  concurrency: number;
  now: () => number;
  /** Milliseconds this run may still use; it stops taking new windows below `reserveMs`. */
  remainingMs: () => number;
  reserveMs: number;
  /** Test-only fault: called after a window's alerts are out and before it leaves the due index. */
  beforeFinish?: (window: DueWindow) => void | Promise<void>;
}

export interface PipelineReport {
  pipeline: string;
  watermark: number | undefined;
  closed: number;
  recovered: number;
  alerts: number;
  duplicateAlerts: number;
  /** Windows left due after throttling outlasted the retries; the next run finishes them. */
  deferred: number;
}

export interface CloserReport {
  pipelines: PipelineReport[];
  /** True when due windows were left (out of time, or deferred after throttling); the next run continues. */
  incomplete: boolean;
}

const PAGE = 100;

export async function closeWindows(deps: CloserDeps): Promise<CloserReport> {
  const rules = await deps.rules();
  const report: CloserReport = { pipelines: [], incomplete: false };
  const limit = pLimit(deps.concurrency);

  for (const pipeline of deps.pipelines) {
    const marks = await deps.store.partitionMarks(pipeline.source.topic);
    const backlog = await deps.backlog?.of(pipeline.source.topic);
    const computed = watermarkOf(marks, deps.now(), deps.watermark, pipeline.source.topic, backlog);
    const pr: PipelineReport = { pipeline: pipeline.name, watermark: undefined, closed: 0, recovered: 0, alerts: 0, duplicateAlerts: 0, deferred: 0 };
    report.pipelines.push(pr);
    if (computed === undefined) continue;
    // Never move backwards, even if a partition's mark was reset or a late closer computed less.
    const watermark = await deps.store.saveWatermark(pipeline.name, computed);
    pr.watermark = watermark;

    const closeOne = async (due: DueWindow) => {
      const { window, closedNow } = await deps.store.close(due, deps.now());
      if (closedNow) pr.closed++;
      else pr.recovered++;
      const features = featuresOf(pipeline, window.slots);
      const verdict = evaluateRules(rules, pipeline.name, features);
      const now = deps.now();
      // Results and alerts carry counts and a bounded sample, never a window's whole sets.
      const output = outputFeatures(features);
      if (deps.resultPipelines.has(pipeline.name)) {
        await deps.alerts.putResult({ pipeline: pipeline.name, key: due.key, windowStart: due.windowStart, windowEnd: due.windowEnd, level: verdict.level, features: output, evaluatedAt: now });
      }
      const alerts: Alert[] = verdict.alerts.map((rule) => ({
        id: alertId(pipeline.name, due.key, due.windowStart, rule.id),
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
      // Emitted even when the record existed: the run that wrote it may have died before emitting.
      if (alerts.length > 0) await deps.sink.emit(alerts);
      await deps.beforeFinish?.(due);
      await deps.store.finish(due);
    };

    // One throttled window must not cost the run every other window: it stays due for the next.
    const closeOrDefer = async (due: DueWindow) => {
      try {
        await closeOne(due);
      } catch (err) {
        if (!isTransient(err)) throw err;
        pr.deferred++;
        report.incomplete = true;
      }
    };

    // The next page is read as soon as the pool has less than a page waiting, whatever the windows
    // in flight are doing: one slow window (a throttle in its SDK retries) holds up only itself.
    const started: Promise<void>[] = [];
    let waiting = 0;
    let wake: (() => void) | undefined;
    let fatal: { err: unknown } | undefined;
    const enqueue = (due: DueWindow) => {
      waiting++;
      const run = limit(async () => {
        waiting--;
        wake?.();
        if (fatal) return;
        await closeOrDefer(due);
      }).catch((err: unknown) => {
        fatal ??= { err };
        wake?.();
      });
      started.push(run);
    };
    const drain = async () => {
      await Promise.all(started);
      if (fatal) throw fatal.err;
    };
    for (let shard = 0; shard < DUE_SHARDS; shard++) {
      let cursor: DueCursor | undefined;
      do {
        while (waiting >= PAGE && !fatal) await new Promise<void>((resolve) => (wake = resolve));
        if (fatal) await drain();
        if (deps.remainingMs() < deps.reserveMs) {
          report.incomplete = true;
          await drain();
          return report;
        }
        const page = await deps.store.dueWindows(pipeline.name, shard, watermark, PAGE, cursor);
        cursor = page.next;
        for (const w of page.windows) enqueue(w);
      } while (cursor);
    }
    await drain();
  }
  return report;
}

