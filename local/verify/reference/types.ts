/**
 * What the reference computation returns. Deliberately free of engine types: the reference is an
 * independent oracle and shares no code with lib/.
 */

/** The built-in pipelines the reference knows (docs/design.md, "The pipelines"). */
export type ReferencePipeline = 'payments' | 'risk' | 'registrations' | 'iot';

/**
 * One stored unit that at least one on-time event reached: a tumbling window, or a bucket of a
 * hopping pipeline (`bucketOf` set). In `ReferenceResult.hoppingWindows`, a hopping window.
 */
export interface ReferenceWindow {
  pipeline: string;
  key: string;
  /** Epoch ms, aligned to the epoch; the window is [windowStart, windowEnd). */
  windowStart: number;
  windowEnd: number;
  /**
   * Whether the watermark at the end of the log (every partition idle) has passed the window's end;
   * for a bucket, the end of the last window that holds it (its start + the window size).
   */
  closed: boolean;
  /** A bucket only: whether that watermark has passed the bucket's own end (no event can reach it any more). */
  sealed?: boolean;
  /** A bucket only: the hopping window it is a bucket of. */
  bucketOf?: { sizeMs: number; advanceMs: number };
  /**
   * The pipeline's features by name: counts and sums as numbers, distinct features as sorted
   * string arrays (JS default sort) up to their cap and as an expected estimate past it, min/max/avg
   * as null when the window kept no reading.
   */
  features: Record<string, number | string[] | ReferenceEstimate | null>;
}

/**
 * A distinct feature past its cap (./distinct-caps.ts): the engine must report an approximate count
 * within `relativeError` of the true `count`.
 */
export interface ReferenceEstimate {
  approximate: true;
  count: number;
  relativeError: number;
}

/**
 * An alert one of the DEFAULT rules raises: one per (pipeline, key, rule, cooldown group). For a
 * tumbling pipeline the group is the window; for a hopping one, every window whose start lies in
 * [groupStart, groupStart + cooldown) and whose features match the rule is a window of the alert.
 */
export interface ReferenceAlert {
  pipeline: string;
  key: string;
  /** The window that records the alert at close: the group's earliest matching window. */
  windowStart: number;
  ruleId: string;
  /** Start of the alert's cooldown group; absent means windowStart (a tumbling window). */
  groupStart?: number;
  /** Starts of the group's matching windows, ascending (windowStart first); absent means [windowStart]. */
  matchingWindows?: number[];
  /** The rule's level (HIGH / MEDIUM for risk), null for rules that set none. */
  level: string | null;
  alertType: string;
}

export interface RecordCoordinates {
  topic: string;
  partition: number;
  offset: number;
}

/** One event of a sequence match's chain, as an alert record's `matched` lists it. */
export interface ReferenceChainEvent {
  step: string;
  partition: number;
  offset: number;
  eventTime: number;
}

/**
 * A match of a DEFAULT sequence rule: one per (rule, key, completing event), the event that
 * satisfied the last step; the alert the engine must raise for it (SEQ-SEMANTICS, "Matching").
 */
export interface ReferenceSequenceMatch {
  ruleId: string;
  alertType: string;
  level: string;
  key: string;
  /** The rule's topic and the completing event's coordinates and event time. */
  completing: RecordCoordinates & { eventTime: number };
  /** The latest chain, first step first; its last entry is the completing event. */
  matched: ReferenceChainEvent[];
  /** First and last event times of the chain (the alert record's windowStart / windowEnd). */
  windowStart: number;
  windowEnd: number;
  /** The alert id the engine must give it: seq-<24 hex of sha256 of [rule, key, topic, partition, offset]>. */
  id: string;
}

/** An applied (not late) event of a sequence rule's topic that satisfies at least one of its steps. */
export interface ReferenceStepEvent extends RecordCoordinates {
  ruleId: string;
  key: string;
  eventTime: number;
  /** Names of the steps it satisfies, in the rule's order. */
  steps: string[];
}

/** A default sequence rule as the reference restates it (./sql/sequences.ts). */
export interface ReferenceSequenceRule {
  id: string;
  topic: string;
  steps: readonly string[];
  withinMs: number;
  alertType: string;
  level: string;
}

export interface ReferenceResult {
  /** Sorted by pipeline, key, windowStart. */
  windows: ReferenceWindow[];
  /** Sorted by pipeline, key, windowStart, ruleId. */
  alerts: ReferenceAlert[];
  /**
   * The windows of the hopping pipelines (never stored by the system, which stores buckets):
   * what their alerts are judged on and what an alert record's features must equal. Sorted by
   * pipeline, key, windowStart. Absent: no hopping pipeline.
   */
  hoppingWindows?: ReferenceWindow[];
  /**
   * How the reference groups alerts, by rule id: the rule's pipeline and cooldown (ms), so that a
   * system record can be put in its group from its window start. Absent: every group is a window.
   */
  alertGroups?: Record<string, { pipeline: string; cooldownMs: number }>;
  counts: {
    /** Lines of the log (records). */
    records: number;
    /** Records that passed validation. */
    valid: number;
    /** records - valid. */
    quarantined: number;
    /** Per pipeline (every built-in pipeline present, 0 included): events turned away as late. */
    late: Record<string, number>;
    /** Distinct records late for at least one pipeline. */
    lateRecords: number;
  };
  /** Sorted by topic, partition, offset. */
  quarantinedOffsets: RecordCoordinates[];
  /** One entry per (record, pipeline) it was late for; sorted by topic, partition, offset, pipeline. */
  lateEvents: (RecordCoordinates & { pipeline: string })[];
  /** Matches of the default sequence rules; sorted by rule, key, completing event ORDER. */
  sequenceMatches: ReferenceSequenceMatch[];
  /** Events satisfying some step, per rule (what a matched chain is checked against); sorted as the matches. */
  sequenceSteps: ReferenceStepEvent[];
  /** Events of a sequence rule's topic too late for sequences (applied to no step nor history); sorted by coordinates. */
  sequenceLate: RecordCoordinates[];
}

export interface ReferenceOptions {
  /** Watermark delay in ms (default 600,000: docs/design.md's 10 minutes). */
  watermarkDelayMs?: number;
  /** How far an event time may be ahead of its record's Kafka timestamp (default 300,000: ingest's MAX_EVENT_AHEAD_MS). */
  maxEventAheadMs?: number;
}
