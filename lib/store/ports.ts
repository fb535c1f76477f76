/**
 * What the engine needs from storage. The domain speaks only these interfaces; the DynamoDB
 * adapters in ./dynamodb implement them, and the handlers wire the two.
 */
import type { SlotOp } from '../pipelines/features.ts';
import type { SideRecord } from '../ingest/quarantine.ts';
import type { StoredWindow } from '../windows/features-of.ts';

export interface WindowKey {
  pipeline: string;
  key: string;
  windowStart: number;
}

/** One slot's contribution: a number to add, a candidate extreme, or strings to union. */
export interface SlotWrite {
  name: string;
  op: SlotOp;
  value: number | string[];
  /** For a 'set' slot: its cap, past which the store keeps a sketch instead of growing the set. */
  exactUpTo?: number;
}

/**
 * The per-partition offset mark that makes a write idempotent. `below`: apply only if the stored
 * mark is absent or lower (a fresh batch). `equals`: apply only if the mark is exactly this, or
 * absent when null (a compare-and-set after a partial overlap). Either way the mark becomes `setTo`.
 */
export type MarkGuard =
  | { partitionId: string; below: number; setTo: number }
  | { partitionId: string; equals: number | null; setTo: number };

export interface WindowWrite extends WindowKey {
  windowEnd: number;
  slots: SlotWrite[];
  marks: MarkGuard[];
  /**
   * Set on a hopping pipeline's bucket (WINDOW_ATTR.bucketOf): the size of the windows it is
   * merged into. The item, slots and mark protocol are a tumbling window's.
   */
  bucketOfSizeMs?: number;
  /**
   * Answer with the window as stored (`stored`), from the write's own answer (DynamoDB:
   * ReturnValues ALL_NEW when applied, ALL_OLD when refused): no extra read. Asked for only when the
   * pipeline has rules that fire early (lib/ingest/early-alerts.ts), since the answer is the item.
   */
  returnStored?: boolean;
}

/**
 * Either applied, or refused with what the store holds (no extra read needed to decide). With
 * `returnStored`, `stored` is the window as it is after this write (applied) or as the refusal
 * found it (absent if there is no item).
 */
export type WindowWriteResult =
  | { applied: true; stored?: StoredWindow; /** This write made the item: the batch lists it on a due page. */ created: boolean }
  | { applied: false; closed: boolean; marks: Map<string, number>; stored?: StoredWindow };

export interface WindowStore {
  /**
   * The most offset marks one write may carry (the store's expression limits); absent: no limit.
   * Wider aggregates are written per group of partitions, each group guarded by its own marks.
   */
  readonly maxMarksPerWrite?: number;
  /**
   * One conditional write: applies every slot and mark, or nothing. (A store may take more than one
   * request, each guarded by the same marks, to keep a slot bounded: a distinct set past its cap,
   * a full set of min/max candidates.)
   */
  write(write: WindowWrite): Promise<WindowWriteResult>;
}

/** A window listed on a due page: its key and start (the page holds its end). */
export interface PagedWindow {
  key: string;
  windowStart: number;
}

/**
 * One due page (docs/design.md, "Due pages"): windows of one pipeline, one due-index shard and one
 * end, listed by one batch cut. `batchId` and `chunk` make its id, so writing the same page again
 * (a redelivery of the same cut) overwrites it.
 */
export interface DuePage {
  pipeline: string;
  dueShard: string;
  windowEnd: number;
  batchId: string;
  chunk: number;
  windows: PagedWindow[];
}

export interface DuePageStore {
  /** Writes every page (each an overwrite of its id); throws TransientStoreError when some may not be stored. */
  put(pages: readonly DuePage[]): Promise<void>;
}

/** A hopping pipeline's bucket as read back (docs/design.md, "Windows"). */
export interface StoredBucket {
  window: StoredWindow;
  /** Not finished by the closer: it has windows to evaluate (its own due entry, or listed on a due page). */
  due: boolean;
  /** The end of the last window the closer evaluated for it, if any. */
  evaluatedThrough?: number;
}

/** Reads a key's buckets: the one Query a hopping window's evaluation costs. */
export interface BucketReader {
  /** The buckets of (pipeline, key) with start in [from, to], strongly consistent, oldest first. */
  buckets(pipeline: string, key: string, from: number, to: number): Promise<StoredBucket[]>;
}

/** The highest event time a partition has shown, for the watermark. */
export interface PartitionWatermark {
  topic: string;
  partition: number;
  maxEventTime: number;
  lastOffset: number;
}

/** What a partition's durable mark says: the greatest event time among its applied records, and
 * the offset it was raised at (every record up to that offset has been fully applied). */
export interface PartitionMark {
  maxEventTime: number;
  lastOffset: number;
}

export interface WatermarkStore {
  /** Raises the partition's max event time; never lowers it. */
  advance(progress: PartitionWatermark): Promise<void>;
  /** The current marks of these partitions, strongly consistent, by "<topic>-<partition>"; absent when none. */
  read(partitions: readonly { topic: string; partition: number }[]): Promise<Map<string, PartitionMark>>;
}

export interface SideOutputStore {
  /** Stores quarantined and late records; idempotent per (kind, coordinates, pipeline). */
  put(records: SideRecord[]): Promise<void>;
}
