/**
 * Alert latency as a user feels it (docs/design.md, "Latency"): per alert, wall-clock time from
 * the moment the alert became due to its record in the alerts table and to its message on the
 * alert topic. Pure: the moments come from local/latency/triggers.ts (a replay of the produced
 * records), the alerts table and the alert topic's consumer.
 *
 * When an alert is due depends on its timing:
 * - early (raised at ingest): when the record that made its rule true was produced (for a
 *   hopping group's alert, the first record after which any window of its group matched; for a
 *   sequence alert, its completing event);
 * - at close (raised by the closer): when the watermark passed its window's end, since the closer
 *   may not close the window before that. The figure to watch is then whether the record came
 *   within one schedule interval of that moment.
 */

export type AlertTiming = 'early' | 'close';

/** An alert record as read from the alerts table, whatever wrote it. */
export interface RecordedAlert {
  id: string;
  pipeline: string;
  key: string;
  windowStart: number;
  windowEnd: number;
  rule: string;
  timing: AlertTiming;
  /** Wall-clock ms the record was written (`firedAt`, else `raisedAt`). */
  recordedAt: number;
  /** Early alerts: the partition and offset ingest was applying (a sequence alert's completing event). */
  firedBy?: { partitionId: string; offset: number };
}

/** The produced record an early alert became due with. */
export interface DueRecord {
  /** Wall-clock ms it was produced. */
  producedAt: number;
  /** Wall-clock ms the first invocation that carried it started, when known. */
  invokedAt?: number;
}

/** Nearest-rank percentiles of a sample, in its unit. */
export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

/** What an alert's latency is measured from. */
export type LatencyBasis =
  /** Early: the produce time of the record after which the rule first held. */
  | 'trigger'
  /** At close: the produce time of the record that carried the watermark past the window's end. */
  | 'watermark'
  /** At close, no produced record carried the watermark there (partitions went idle): the closer run that closed it. */
  | 'closer-run';

export interface AlertLatency {
  id: string;
  timing: AlertTiming;
  basis: LatencyBasis;
  /** Wall-clock ms the alert became due. */
  dueAt: number;
  toRecordMs: number;
  /** Undefined when the message was not seen on the alert topic. */
  toKafkaMs: number | undefined;
  /** Early alerts whose trigger's invocation is known: from the produce to that invocation's start. */
  toInvocationMs?: number;
}

export interface TimingLatency {
  /** Undefined when no alert of this timing was measured. */
  toRecord: Percentiles | undefined;
  toKafka: Percentiles | undefined;
  /** Alerts of this timing whose due moment could not be found (see LatencyReport). */
  unmatched: number;
}

export interface LatencyReport {
  early: TimingLatency & {
    /**
     * The two shares of early latency to the record, for alerts whose trigger's invocation is
     * known: the mapping's (produce to the start of the first invocation that carried the trigger:
     * polling, the batching window, waiting for the partition's previous invocation) and ingest's
     * (that start to the alert record: the invocation's own work).
     */
    split: { toInvocation: Percentiles | undefined; invocationToRecord: Percentiles | undefined };
  };
  close: TimingLatency & {
    /** At-close alerts measured from the watermark, and how many of them reached their record within one schedule interval. */
    fromWatermark: number;
    withinInterval: number;
    scheduleIntervalMs: number;
    /** At-close alerts measured from a closer run's start instead (the stream went idle). */
    fromCloserRun: number;
    /**
     * Every window the closer closed, alert or not, from the watermark passing its end to its
     * close: the closer's part of at-close latency, with a sample even when few alerts close.
     * Windows no produced record carried the watermark past are left out.
     */
    windows: { toClose: Percentiles | undefined; withinInterval: number };
    /**
     * The closer's own share: from the moment ingest had stored the marks that carry the
     * watermark past the window end (when the closer could first see it) to the alert record, and
     * to each window's close. The rest of at-close latency is the mapping's (batching window,
     * invocation), which early alerts pay too.
     */
    fromStoredWatermark: { toRecord: Percentiles | undefined; withinInterval: number; windowsToClose: Percentiles | undefined; windowsWithinInterval: number };
    /**
     * The at-close target as the closer is scheduled (docs/design.md, "Latency"): an at-close alert
     * or a window is due by the end of the first closer pass that STARTED after ingest had stored
     * the marks carrying the watermark past its end; that pass read marks that say so, and the
     * window was due to it. `judged` counts those such a pass followed within the run, plus any
     * recorded before one came (they met it); `within`, those recorded or closed by then. A window
     * such a pass followed that never closed is judged and not within (`neverClosed`). Absent when
     * the closer's passes are not known.
     */
    firstPass?: {
      alerts: { judged: number; within: number };
      windows: { judged: number; within: number; neverClosed: number };
      /** The closer's passes in the run, and how long each took. */
      passes: number;
      passMs: Percentiles | undefined;
    };
  };
  alerts: AlertLatency[];
}

export interface LatencyInputs {
  alerts: readonly RecordedAlert[];
  /** The record an early alert became due with (local/latency/triggers.ts), undefined when unknown. */
  triggerOf: (alert: RecordedAlert) => DueRecord | undefined;
  /** Wall-clock ms when a produced record first carried `pipeline`'s watermark to `windowEnd` or past it; undefined if none did. */
  watermarkPassedAt: (pipeline: string, windowEnd: number) => number | undefined;
  /** Wall-clock ms when ingest had applied the records that carry it there; absent or undefined when not known. */
  watermarkStoredAt?: (pipeline: string, windowEnd: number) => number | undefined;
  /** By alert id: wall-clock ms the alert topic's consumer first received the alert. */
  receivedAt: ReadonlyMap<string, number>;
  /** Start times (wall-clock ms) of the closer's runs. */
  closerRunStarts: readonly number[];
  scheduleIntervalMs: number;
  /** The windows closed in the run, when known. */
  closedWindows?: readonly ClosedWindow[];
  /** The windows still open when the run ended, when known (with closedWindows: every window). */
  openWindows?: readonly { pipeline: string; windowEnd: number }[];
  /** Every closer pass that ended in the run (a session makes several), when known. */
  closerPasses?: readonly CloserPass[];
}

/** One closer pass: wall-clock ms it started and ended. */
export interface CloserPass {
  startedAt: number;
  endedAt: number;
}

/** A window the closer closed, and when. */
export interface ClosedWindow {
  pipeline: string;
  windowEnd: number;
  closedAt: number;
}

/** The identity of an alert before it has an id: one per (pipeline, key, window, rule). */
export const alertKey = (pipeline: string, key: string, windowStart: number, rule: string): string => JSON.stringify([pipeline, key, windowStart, rule]);

/**
 * Nearest-rank p50, p95 and max of `xs`; undefined for an empty sample.
 * The p-th percentile is the smallest value with at least p of the sample at or below it.
 */
export function percentiles(xs: readonly number[]): Percentiles | undefined {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
  return { n: sorted.length, p50: rank(0.5), p95: rank(0.95), max: sorted[sorted.length - 1]! };
}

/** The latest of `starts` at or before `t` (starts need not be sorted). */
function lastAtOrBefore(starts: readonly number[], t: number): number | undefined {
  let best: number | undefined;
  for (const s of starts) if (s <= t && (best === undefined || s > best)) best = s;
  return best;
}

/**
 * The end of the first pass that started at or after `t`, the deadline of a window whose marks were
 * stored at `t`; undefined when no pass started after it in the run. `passes` sorted by start.
 */
export function firstPassEnd(passes: readonly CloserPass[], t: number): number | undefined {
  let lo = 0;
  let hi = passes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (passes[mid]!.startedAt >= t) hi = mid;
    else lo = mid + 1;
  }
  return passes[lo]?.endedAt;
}

/**
 * Judges `items` against the first pass after their stored marks (see LatencyReport's
 * close.firstPass): `doneAt` undefined means never recorded or closed.
 */
function judgeFirstPass(passes: readonly CloserPass[], items: readonly { storedAt: number; doneAt: number | undefined }[]): { judged: number; within: number; never: number } {
  let judged = 0;
  let within = 0;
  let never = 0;
  for (const { storedAt, doneAt } of items) {
    const deadline = firstPassEnd(passes, storedAt);
    if (deadline === undefined && doneAt === undefined) continue;
    judged++;
    if (doneAt === undefined) never++;
    else if (deadline === undefined || doneAt <= deadline) within++;
  }
  return { judged, within, never };
}

/** When `alert` became due, and from what; undefined when that cannot be told. */
function dueMoment(alert: RecordedAlert, i: LatencyInputs): { basis: LatencyBasis; dueAt: number; invokedAt?: number } | undefined {
  if (alert.timing === 'early') {
    const due = i.triggerOf(alert);
    return due === undefined ? undefined : { basis: 'trigger', dueAt: due.producedAt, ...(due.invokedAt !== undefined ? { invokedAt: due.invokedAt } : {}) };
  }
  const passed = i.watermarkPassedAt(alert.pipeline, alert.windowEnd);
  if (passed !== undefined) return { basis: 'watermark', dueAt: passed };
  const run = lastAtOrBefore(i.closerRunStarts, alert.recordedAt);
  return run === undefined ? undefined : { basis: 'closer-run', dueAt: run };
}

/**
 * Matches each alert record with the moment it became due and the first receipt of its message,
 * and summarises early and at-close alerts apart. An alert whose due moment cannot be told (an
 * early alert the replay never saw its rule hold for; an at-close alert older than every closer
 * run) is counted as unmatched, not measured.
 */
export function measureLatency(i: LatencyInputs): LatencyReport {
  const alerts: AlertLatency[] = [];
  const unmatched = { early: 0, close: 0 };
  for (const a of i.alerts) {
    const due = dueMoment(a, i);
    if (!due) {
      unmatched[a.timing]++;
      continue;
    }
    const received = i.receivedAt.get(a.id);
    alerts.push({
      id: a.id,
      timing: a.timing,
      basis: due.basis,
      dueAt: due.dueAt,
      toRecordMs: a.recordedAt - due.dueAt,
      toKafkaMs: received === undefined ? undefined : received - due.dueAt,
      ...(due.invokedAt !== undefined ? { toInvocationMs: due.invokedAt - due.dueAt } : {}),
    });
  }
  const of = (timing: AlertTiming): TimingLatency => {
    const mine = alerts.filter((a) => a.timing === timing);
    return {
      toRecord: percentiles(mine.map((a) => a.toRecordMs)),
      toKafka: percentiles(mine.flatMap((a) => (a.toKafkaMs === undefined ? [] : [a.toKafkaMs]))),
      unmatched: unmatched[timing],
    };
  };
  const fromWatermark = alerts.filter((a) => a.basis === 'watermark');
  const toClose = (i.closedWindows ?? []).flatMap((w) => {
    const passed = i.watermarkPassedAt(w.pipeline, w.windowEnd);
    return passed === undefined ? [] : [w.closedAt - passed];
  });
  const storedAt = (pipeline: string, windowEnd: number) => i.watermarkStoredAt?.(pipeline, windowEnd);
  const closeFromStored = i.alerts.flatMap((a) => {
    const at = a.timing === 'close' ? storedAt(a.pipeline, a.windowEnd) : undefined;
    return at === undefined ? [] : [a.recordedAt - at];
  });
  const windowsFromStored = (i.closedWindows ?? []).flatMap((w) => {
    const at = storedAt(w.pipeline, w.windowEnd);
    return at === undefined ? [] : [w.closedAt - at];
  });
  const within = (xs: number[]) => xs.filter((ms) => ms <= i.scheduleIntervalMs).length;
  const firstPass = (() => {
    if (i.closerPasses === undefined) return undefined;
    const passes = [...i.closerPasses].sort((a, b) => a.startedAt - b.startedAt);
    const stored = <T>(xs: readonly T[], of: (x: T) => { pipeline: string; windowEnd: number; doneAt: number | undefined }) =>
      xs.flatMap((x) => {
        const { pipeline, windowEnd, doneAt } = of(x);
        const at = storedAt(pipeline, windowEnd);
        return at === undefined ? [] : [{ storedAt: at, doneAt }];
      });
    const alerts = judgeFirstPass(passes, stored(i.alerts.filter((a) => a.timing === 'close'), (a) => ({ pipeline: a.pipeline, windowEnd: a.windowEnd, doneAt: a.recordedAt })));
    const windows = judgeFirstPass(passes, [
      ...stored(i.closedWindows ?? [], (w) => ({ pipeline: w.pipeline, windowEnd: w.windowEnd, doneAt: w.closedAt })),
      ...stored(i.openWindows ?? [], (w) => ({ pipeline: w.pipeline, windowEnd: w.windowEnd, doneAt: undefined })),
    ]);
    return {
      alerts: { judged: alerts.judged, within: alerts.within },
      windows: { judged: windows.judged, within: windows.within, neverClosed: windows.never },
      passes: passes.length,
      passMs: percentiles(passes.map((p) => p.endedAt - p.startedAt)),
    };
  })();
  const split = alerts.filter((a) => a.timing === 'early' && a.toInvocationMs !== undefined);
  return {
    early: {
      ...of('early'),
      split: { toInvocation: percentiles(split.map((a) => a.toInvocationMs!)), invocationToRecord: percentiles(split.map((a) => a.toRecordMs - a.toInvocationMs!)) },
    },
    close: {
      ...of('close'),
      fromWatermark: fromWatermark.length,
      withinInterval: fromWatermark.filter((a) => a.toRecordMs <= i.scheduleIntervalMs).length,
      scheduleIntervalMs: i.scheduleIntervalMs,
      fromCloserRun: alerts.filter((a) => a.basis === 'closer-run').length,
      windows: { toClose: percentiles(toClose), withinInterval: within(toClose) },
      fromStoredWatermark: {
        toRecord: percentiles(closeFromStored),
        withinInterval: within(closeFromStored),
        windowsToClose: percentiles(windowsFromStored),
        windowsWithinInterval: within(windowsFromStored),
      },
      ...(firstPass ? { firstPass } : {}),
    },
    alerts,
  };
}

/**
 * An alert record of the alerts table, read generically: `timing` absent means at close (records
 * written before early alerts existed); the write time is `firedAt` when present, else `raisedAt`.
 * Undefined for an item that is not an alert or lacks what latency needs.
 */
export function recordedAlertOf(item: Readonly<Record<string, unknown>>): RecordedAlert | undefined {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const id = str(item.id);
  const pipeline = str(item.pipeline);
  const key = str(item.windowKey) ?? str(item.key);
  const rule = str(item.rule);
  const windowStart = num(item.windowStart);
  const windowEnd = num(item.windowEnd);
  const recordedAt = num(item.firedAt) ?? num(item.raisedAt);
  if (id === undefined || pipeline === undefined || key === undefined || rule === undefined || windowStart === undefined || windowEnd === undefined || recordedAt === undefined) return undefined;
  const by = item.firedBy as { partitionId?: unknown; offset?: unknown } | undefined;
  const firedBy = by && typeof by === 'object' && str(by.partitionId) !== undefined && num(by.offset) !== undefined ? { partitionId: by.partitionId as string, offset: by.offset as number } : undefined;
  return { id, pipeline, key, windowStart, windowEnd, rule, timing: item.timing === 'early' ? 'early' : 'close', recordedAt, ...(firedBy ? { firedBy } : {}) };
}

/** `p50 / p95 / max ms (n)`, or a dash for no sample. */
export function formatPercentiles(p: Percentiles | undefined): string {
  return p ? `${Math.round(p.p50)} / ${Math.round(p.p95)} / ${Math.round(p.max)} ms (n=${p.n})` : '-';
}
