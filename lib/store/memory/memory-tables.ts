/**
 * The tables of the in-memory adapters: plain maps that several adapters share, as the DynamoDB
 * adapters share tables. For fast tests of the engine's logic; every adapter here passes the same
 * contract suite as its DynamoDB twin (test/support/store-contract.ts), so a test on memory tells
 * the truth about DynamoDB as far as that contract goes. What it does not model: item and
 * expression size limits, throttling, and eventual consistency of the due index.
 */
import type { SideRecord } from '../../ingest/quarantine.ts';
import type { SetAsideWindow, StoredAlert } from '../../closer/ports.ts';
import type { StoredSlots, StoredWindow } from '../../windows/features-of.ts';

/** One window item: what the windows table holds under (pipeline#key, windowStart). */
export interface MemoryWindowItem {
  pipeline: string;
  key: string;
  windowStart: number;
  windowEnd: number;
  /** On a hopping pipeline's bucket: the size of the windows it is merged into (WINDOW_ATTR.bucketOf). */
  bucketOfSizeMs?: number;
  /** On a bucket the closer has evaluated windows of: the end of the last one (WINDOW_ATTR.evaluatedThrough). */
  evaluatedThrough?: number;
  /**
   * Its own due-index entry: written by deployments before due pages, and by the closer for a bucket
   * it leaves due for a later window. Otherwise the window is listed on due pages.
   */
  dueShard: string | undefined;
  /** When the closer finished it (WINDOW_ATTR.finishedAt). */
  finishedAt?: number;
  closedAt: number | undefined;
  /** When the closer set the window aside, unable to close it. */
  setAsideAt?: number;
  ttl: number;
  /** Sums as numbers; min/max candidates and distinct values as sets. */
  slots: Map<string, number | Set<number> | Set<string>>;
  /** Distinct slots past their cap: the serialized HyperLogLog sketch (the set keeps its sample). */
  sketches: Map<string, Uint8Array>;
  /** Offset marks by partition id. */
  marks: Map<string, number>;
  /** Bumped by every applied write (the closer's one-write close checks it). */
  version: number;
  /** A result pipeline's verdict, set at close. */
  level?: string | undefined;
  evaluatedAt?: number;
}

/** A due page item (lib/store/ports.ts DuePage), by its pk and sk. */
export interface MemoryDuePage {
  pk: string;
  sk: number;
  pipeline: string;
  dueShard: string;
  windowEnd: number;
  windows: { key: string; windowStart: number }[];
  ttl: number;
}

export interface MemoryPartitionMark {
  topic: string;
  partition: number;
  maxEventTime: number;
  lastOffset: number;
  advancedAt: number;
}

export class MemoryTables {
  /** By `${pipeline}#${key}` then window start. */
  readonly windows = new Map<string, Map<number, MemoryWindowItem>>();
  /** Due pages by `${pk}#${sk}`. */
  readonly duePages = new Map<string, MemoryDuePage>();
  /** By topic, then partition. */
  readonly partitionMarks = new Map<string, Map<number, MemoryPartitionMark>>();
  readonly pipelineWatermarks = new Map<string, number>();
  /** By `${kind}#${topic}-${partition}#${offset}#${pipeline ?? ''}`. */
  readonly sideOutput = new Map<string, SideRecord>();
  readonly alerts = new Map<string, StoredAlert>();
  /** By `${pipeline}#${key}#${windowStart}`. */
  readonly setAside = new Map<string, SetAsideWindow>();

  window(pk: string, windowStart: number): MemoryWindowItem | undefined {
    return this.windows.get(pk)?.get(windowStart);
  }

  /** Every window item, in no particular order. */
  *allWindows(): Iterable<MemoryWindowItem> {
    for (const byStart of this.windows.values()) yield* byStart.values();
  }
}

/** A window item as the stores answer with it: a copy, so later writes do not change it. */
export function storedWindowOf(item: MemoryWindowItem): StoredWindow {
  const slots: StoredSlots = {};
  for (const [name, value] of item.slots) slots[name] = value instanceof Set ? ([...value] as number[] | string[]) : value;
  for (const [name, sketch] of item.sketches) slots[name] = { values: [...((item.slots.get(name) as Set<string> | undefined) ?? [])], sketch: Uint8Array.from(sketch) };
  return {
    pipeline: item.pipeline,
    key: item.key,
    windowStart: item.windowStart,
    windowEnd: item.windowEnd,
    closedAt: item.closedAt,
    slots,
    version: item.version,
    ...(item.finishedAt !== undefined || item.setAsideAt !== undefined ? { finished: true as const } : {}),
    ...(item.bucketOfSizeMs !== undefined ? { bucketOfSizeMs: item.bucketOfSizeMs } : {}),
  };
}
