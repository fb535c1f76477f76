/** What the window closer needs from storage, and the sink port the dispatcher sends alerts through. */
import { StreamguardError } from '../errors.ts';
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

/** Where a page of due windows ended; opaque to the closer. */
export type DueCursor = Record<string, unknown>;

export interface CloserStore {
  /** Every partition's mark for a topic. */
  partitionMarks(topic: string): Promise<PartitionMark[]>;
  /**
   * Up to `limit` windows of one due-index shard whose end is at or before `upTo`, oldest first,
   * from `after` on; `next` is where the following page starts (absent after the last page).
   */
  dueWindows(pipeline: string, shard: number, upTo: number, limit: number, after?: DueCursor): Promise<{ windows: DueWindow[]; next?: DueCursor }>;
  /**
   * Closes a window (no write is applied to it afterwards) and returns its final content; if it
   * was closed already (by a racing closer, or by a run that crashed before finishing) returns it too.
   */
  close(window: DueWindow, now: number): Promise<{ window: StoredWindow; closedNow: boolean }>;
  /** Takes a window out of the due index once its results and alerts are out. */
  finish(window: DueWindow): Promise<void>;
  /**
   * Takes a window that cannot be closed out of the due index, so it stops being retried, and
   * closes it to further writes (later events are late). A no-op for a window no longer stored.
   */
  setAside(window: DueWindow, now: number): Promise<void>;
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

/** The risk verdict on a closed window, upserted by (pipeline, key, window). */
export interface WindowResult {
  pipeline: string;
  key: string;
  windowStart: number;
  windowEnd: number;
  level: string | undefined;
  /** Bounded, as an alert's. */
  features: OutputFeatures;
  evaluatedAt: number;
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
  /** Conditional put; false when the alert was already recorded. */
  putAlert(alert: Alert): Promise<boolean>;
  putResult(result: WindowResult): Promise<void>;
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
