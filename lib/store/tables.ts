/**
 * The tables streamguard keeps, defined once for the local runtime, the tests and the CDK stack.
 * Attribute names here are the storage contract; adapters import them rather than spell them.
 */

import { createHash } from 'node:crypto';

export type KeyType = 'S' | 'N';

export interface KeyDef {
  name: string;
  type: KeyType;
}

export interface IndexDef {
  name: string;
  partitionKey: KeyDef;
  sortKey: KeyDef;
  /** Attributes copied into the index beyond the keys. */
  include: string[];
}

export interface TableDef {
  /** Stable logical id (CDK construct id, env variable suffix). */
  id: 'windows' | 'state' | 'sideOutput' | 'alerts';
  partitionKey: KeyDef;
  sortKey: KeyDef;
  indexes: IndexDef[];
  ttlAttribute: string | undefined;
  /** A DynamoDB stream on the table, with what each record carries. */
  stream?: 'NEW_IMAGE';
}

/** Windowed aggregates: pk "<pipeline>#<key>", sk window start (epoch ms). */
export const windowsTable: TableDef = {
  id: 'windows',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'N' },
  indexes: [
    {
      // Sparse: only due pages (and, from deployments before them, open windows) carry dueShard, so
      // the closer reads what is due and nothing else (docs/design.md, "Due pages").
      name: 'due',
      partitionKey: { name: 'dueShard', type: 'S' },
      sortKey: { name: 'windowEnd', type: 'N' },
      include: [],
    },
  ],
  ttlAttribute: 'ttl',
};

/**
 * Engine state: partition watermarks (pk "watermark#<topic>", sk partition), pipeline watermarks
 * (pk "pipeline-watermark", sk pipeline), rules (pk "rule", sk rule id) and sequence state
 * (pk "seq#<topic>#<keyField>#<key>", sk "state", lib/store/dynamodb/sequence-store.ts). Only
 * sequence state carries `ttl`; the other items never expire.
 */
export const stateTable: TableDef = {
  id: 'state',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  indexes: [],
  ttlAttribute: 'ttl',
};

/** Quarantined and late records: pk "<kind>#<topic>-<partition>", sk zero-padded offset[#pipeline]. */
export const sideOutputTable: TableDef = {
  id: 'sideOutput',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  indexes: [],
  ttlAttribute: 'ttl',
};

/**
 * Alerts (pk "alert#<alert id>", sk "alert"), created once by ingest (early) or the closer and
 * completed at close (risk levels are on the window items), and windows the closer set aside (pk "aside#<pipeline>", sk "<window start>#<key>", with the reason).
 * It is the alerts' outbox: its stream (new images) feeds the dispatcher, which sends each alert
 * record's INSERT to the alert topic (lib/dispatcher).
 */
export const alertsTable: TableDef = {
  id: 'alerts',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  indexes: [],
  ttlAttribute: 'ttl',
  stream: 'NEW_IMAGE',
};

export const allTables: TableDef[] = [windowsTable, stateTable, sideOutputTable, alertsTable];

/** Physical table names, resolved from configuration. */
export interface TableNames {
  windows: string;
  state: string;
  sideOutput: string;
  alerts: string;
}

/** Storage attribute names of the windows table. */
export const WINDOW_ATTR = {
  pipeline: 'pipeline',
  key: 'windowKey',
  windowStart: 'windowStart',
  windowEnd: 'windowEnd',
  dueShard: 'dueShard',
  closedAt: 'closedAt',
  /** When the closer gave up on the window (see CloserStore.setAside); absent on closed windows. */
  setAsideAt: 'setAsideAt',
  ttl: 'ttl',
  /** Bumped by every applied ingest write: the closer closes a window it read only if it is unchanged since. */
  version: 'version',
  /** A result pipeline's risk verdict, set when the window closes, and when. */
  level: 'riskLevel',
  evaluatedAt: 'evaluatedAt',
  /**
   * On a BUCKET of a hopping pipeline (an item holding one advance of it): the size of the hopping
   * windows it is merged into, in ms. Absent on tumbling windows. Readers tell buckets by it.
   */
  bucketOf: 'bucketOfSizeMs',
  /** On a bucket the closer has evaluated windows of: the end of the last window evaluated. */
  evaluatedThrough: 'evaluatedThrough',
  /**
   * When the closer finished the window (closed, alerts recorded, verdict kept): a window listed on
   * a due page carries no dueShard, so this is what tells a finished one from one a crashed run closed.
   */
  finishedAt: 'finishedAt',
  /** On a due page: the windows it lists, a list of [key, window start]. */
  pageWindows: 'dueWindows',
  /** Feature slots: "f_<slot>". */
  slotPrefix: 'f_',
  /** A distinct slot past its exact cap: its HyperLogLog sketch (binary), "h_<slot>". */
  sketchPrefix: 'h_',
  /** A min/max slot: a counter bumped by every write to its candidates, for compare-and-set, "g_<slot>". */
  generationPrefix: 'g_',
  /** Offset marks, one top-level attribute per source partition: "o_<topic>-<partition>". */
  markPrefix: 'o_',
} as const;

export function windowPk(pipeline: string, key: string): string {
  return `${pipeline}#${key}`;
}

/**
 * Shards of the due index per pipeline. Fixed, not configured: ingest writes and the closer reads
 * them, and a mismatch would hide windows from the closer.
 */
export const DUE_SHARDS = 16;

/** The due-index shard of a window key: spreads one pipeline's open windows over index partitions. */
export function dueShardOf(pipeline: string, key: string, shards: number = DUE_SHARDS): string {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return `${pipeline}#${(h >>> 0) % shards}`;
}

/**
 * Shards the due pages of a pipeline are written to (a prefix of the DUE_SHARDS the closer reads).
 * Picked by measurement (docs/design.md, "Due pages"): every shard splits a batch's pages, and a
 * page costs the same whether it lists 1 window or 30, so fewer shards list more windows per write.
 * A key's pages and its own due entry (a bucket left due, CloserStore.advanceBucket) share a shard,
 * so the closer meets a key's buckets oldest first. Must divide DUE_SHARDS.
 */
export const DUE_PAGE_SHARDS = 1;

/** The due-index shard of a key's due pages (and its own entry when the closer leaves one). */
export function duePageShardOf(pipeline: string, key: string): string {
  return dueShardOf(pipeline, key, DUE_PAGE_SHARDS);
}

export const DUE_PAGE_PK_PREFIX = 'due#';

/**
 * A due page's partition key, "due#<dueShard>#<windowEnd>#<batch id>" (its sk: the chunk number).
 * One per (shard, window end, batch cut), so a redelivery of the same cut overwrites its pages.
 */
export function duePagePk(dueShard: string, windowEnd: number, batchId: string): string {
  return `${DUE_PAGE_PK_PREFIX}${dueShard}#${windowEnd}#${batchId}`;
}

/** True for a due page's pk: no window pk starts so, as no pipeline is named "due". */
export function isDuePagePk(pk: string): boolean {
  return pk.startsWith(DUE_PAGE_PK_PREFIX);
}

export const SEQUENCE_PK_PREFIX = 'seq#';
export const SEQUENCE_SK = 'state';

/**
 * A sequence state item's partition key, "seq#<topic>#<keyField>#<key>"; a key too long for
 * DynamoDB's 2 KB partition key is kept by digest.
 */
export function sequencePk(k: { topic: string; keyField: string; key: string }): string {
  const key = Buffer.byteLength(k.key) <= 1_024 ? k.key : `sha256:${createHash('sha256').update(k.key).digest('hex')}`;
  return `${SEQUENCE_PK_PREFIX}${k.topic}#${k.keyField}#${key}`;
}
