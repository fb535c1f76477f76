/** What the window closer needs from storage, and the sink port the dispatcher sends alerts through. */
import { StreamguardError } from '../errors.ts';
import type { BucketReader } from '../store/ports.ts';
import type { StoredWindow } from '../windows/features-of.ts';
import type { OutputFeatures } from './output-features.ts';
import type { PartitionMark } from './watermark.ts';

/** A window found due in the sparse index. */
export interface DueWindow {
  pipeline: string;
  key: string;
  windowStart: number;
  windowEnd: number;
}

/**
 * A due page found in the index (docs/design.md, "Due pages"): windows of one pipeline and one end,
 * listed by the batch that created them; `page` is the store's id of it.
 */
export interface DuePageEntry {
  pipeline: string;
  windowEnd: number;
  page: { pk: string; sk: number };
}

/** What the due index lists: a window with its own entry, or a page of windows. */
export type DueEntry = DueWindow | DuePageEntry;

export function isDuePage(entry: DueEntry): entry is DuePageEntry {
  return 'page' in entry;
}

/**
 * What a one-write close did: `closed`; `changed`, a write landed after the read (judge it again);
 * `closed-before`, a racing or crashed run closed it (finish it the long way).
 */
export type QuietClose = 'closed' | 'changed' | 'closed-before';

/** A result pipeline's risk verdict on a closed window, kept on the window item. */
export interface WindowVerdict {
  level: string | undefined;
  evaluatedAt: number;
}

/** Where a page of due windows ended; opaque to the closer. */
export type DueCursor = Record<string, unknown>;

export interface CloserStore extends BucketReader {
  /** Every partition's mark for a topic. */
  partitionMarks(topic: string): Promise<PartitionMark[]>;
  /**
   * Up to `limit` entries (windows and due pages) of one due-index shard whose end is at or before
   * `upTo`, oldest first, from `after` on; `next` is where the following page starts (absent after the last).
   */
  dueWindows(pipeline: string, shard: number, upTo: number, limit: number, after?: DueCursor): Promise<{ windows: DueEntry[]; next?: DueCursor }>;
  /** The windows a due page lists (a strongly consistent read); undefined when the page is gone. */
  readDuePage(page: DuePageEntry): Promise<DueWindow[] | undefined>;
  /** Deletes a due page once every window it lists is settled. */
  deleteDuePage(page: DuePageEntry): Promise<void>;
  /**
   * Closes a window (no write is applied to it afterwards) and returns its final content; if it
   * was closed already (by a racing closer, or by a run that crashed before finishing) returns it too.
   */
  close(window: DueWindow, now: number): Promise<{ window: StoredWindow; closedNow: boolean }>;
  /**
   * The window as stored now (a strongly consistent read, with its version); undefined when it is
   * not in the table.
   */
  read(window: DueWindow): Promise<StoredWindow | undefined>;
  /**
   * Closes a window that raises no alert and takes it out of the due index, in one write that also
   * records its verdict (for a result pipeline), if the window is still open and has not been
   * written since the read that gave `version`. docs/design.md, "Closing a window".
   */
  closeQuietly(window: DueWindow, version: number, now: number, verdict?: WindowVerdict): Promise<QuietClose>;
  /**
   * Marks a window finished once its alerts are out (and takes it out of the due index if it had an
   * entry there), recording its verdict (for a result pipeline).
   */
  finish(window: DueWindow, verdict: WindowVerdict | undefined, now: number): Promise<void>;
  /**
   * Takes a window that cannot be closed out of the due index, so it stops being retried, and
   * closes it to further writes (later events are late). A no-op for a window no longer stored.
   */
  setAside(window: DueWindow, now: number): Promise<void>;
  /**
   * Records how far the closer has evaluated a hopping pipeline's bucket that stays in the due index
   * (a later window of it raises an alert): `evaluatedThrough` is the end of the last window
   * evaluated. Only on a closed bucket; never lowers the mark. The bucket gets its own due entry
   * (in its due pages' shard) if it had none, so the page that listed it can go.
   */
  advanceBucket(window: DueWindow, evaluatedThrough: number): Promise<void>;
  /** Records a pipeline's watermark (never lowering it); returns the stored one. */
  saveWatermark(pipeline: string, watermark: number): Promise<number>;
}

/** An alert: one per (pipeline, key, window, rule), whatever the number of closers or retries. */
export interface Alert {
  id: string;
  pipeline: string;
  rule: string;
  alertType: string;
  level: string | undefined;
  key: string;
  windowStart: number;
  windowEnd: number;
  /** Bounded: distinct features as count, approximate flag and a sample (./output-features.ts). */
  features: OutputFeatures;
  raisedAt: number;
}

/** Where the aggregate that made an early alert's rule true came from: a partition and its last offset. */
export interface FiredBy {
  partitionId: string;
  offset: number;
}

/**
 * An alert raised at ingest (docs/design.md, "Early alerts"): `features` are the features that made
 * the rule true, `firedAt` when (= raisedAt), `firedBy` the aggregate write that made it true.
 */
export interface EarlyAlert extends Alert {
  timing: 'early';
  firedAt: number;
  firedBy: FiredBy;
}

/** One step of a sequence alert's matched chain (lib/sequences/alert.ts). */
export interface MatchedStep {
  step: string;
  partition: number;
  offset: number;
  eventTime: number;
}

/**
 * A sequence rule's match, raised at ingest when its completing event is applied
 * (docs/design.md, "Sequence rules"): `pipeline` 'sequence', `windowStart`/`windowEnd` the first
 * and the completing event's times, `firedBy` the completing event, `matched` the chain.
 */
export interface SequenceAlert extends EarlyAlert {
  pipeline: 'sequence';
  topic: string;
  matched: MatchedStep[];
}

/**
 * An alert record as stored: raised early (and completed at close with `finalFeatures` and
 * `closedAt`), or raised at close (`timing` 'close', `features` = `finalFeatures`).
 */
export interface StoredAlert extends Alert {
  timing: 'early' | 'close';
  firedAt?: number;
  firedBy?: FiredBy;
  /** The window's features when it closed; absent until then. */
  finalFeatures?: OutputFeatures;
  closedAt?: number;
  /** Sequence alerts: the topic and the matched chain. */
  topic?: string;
  matched?: MatchedStep[];
}

/** A window the closer could not close, recorded for an operator with the reason. */
export interface SetAsideWindow {
  pipeline: string;
  key: string;
  windowStart: number;
  windowEnd: number;
  reason: string;
  at: number;
}

export interface AlertStore {
  /**
   * Records an alert as the closer raises it, its `features` being the window's final ones: a new
   * record (timing 'close', `finalFeatures` = `features`, `closedAt` = `raisedAt`) or, when the
   * record exists (raised early, or by an earlier run), adds `finalFeatures` and `closedAt` to it
   * if it has none and leaves the rest as it is. One record per id either way. A record raised for
   * another window of the alert's group (same id, another `windowStart`) is left as it is: only
   * the record's own window completes it (docs/design.md, "Alert grouping").
   * @returns true when this call recorded the close (a new record, or an early one completed),
   *   false when an earlier close had (a repeated run): so each alert counts once at close.
   */
  putAlert(alert: Alert): Promise<boolean>;
  /** Conditional put of an alert raised at ingest; false when the id is already recorded. */
  putEarlyAlert(alert: EarlyAlert): Promise<boolean>;
  /** Conditional put of a sequence alert (an early alert with its chain); false when the id is already recorded. */
  putSequenceAlert(alert: SequenceAlert): Promise<boolean>;
  /** Records a set-aside window (upserted per window, so a repeat overwrites). */
  putSetAside(record: SetAsideWindow): Promise<void>;
}

/**
 * A window that cannot be closed because of what it holds or lacks (its item is missing or
 * malformed, the rules fail on its features): retrying cannot help, so the window is set aside.
 */
export class UnclosableWindowError extends StreamguardError {}

/**
 * The alert topic refused these alerts for good (a message too large, say): retrying cannot help.
 * The dispatcher names the record; its mapping retries it, then hands its batch to the on-failure queue.
 */
export class AlertRejectedError extends StreamguardError {}

/** How far the source topics' mappings are behind, for the watermark's idle rule. */
export interface SourceBacklog {
  /**
   * Records per partition of `topic` that its mapping has not committed yet; undefined when that
   * cannot be told (no consumer group known, or the broker did not answer): the idle rule then
   * goes by time alone.
   */
  of(topic: string): Promise<ReadonlyMap<number, number> | undefined>;
}

/** Where the dispatcher sends alerts (the Kafka topic; EventBridge or SNS would be further sinks). */
export interface AlertSink {
  /** At-least-once delivery; the alert id travels with each message so consumers can dedupe. */
  emit(alerts: Alert[]): Promise<void>;
}
