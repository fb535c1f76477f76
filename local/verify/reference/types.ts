/**
 * What the reference computation returns. Deliberately free of engine types: the reference is an
 * independent oracle and shares no code with lib/.
 */

/** The built-in pipelines the reference knows (docs/design.md, "The pipelines"). */
export type ReferencePipeline = 'payments' | 'risk' | 'registrations' | 'iot';

/** One tumbling window that at least one on-time event reached. */
export interface ReferenceWindow {
  pipeline: string;
  key: string;
  /** Epoch ms, aligned to the epoch; the window is [windowStart, windowEnd). */
  windowStart: number;
  windowEnd: number;
  /** Whether the watermark at the end of the log (every partition idle) has passed the window's end. */
  closed: boolean;
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

/** An alert one of the DEFAULT rules raises when the window closes. */
export interface ReferenceAlert {
  pipeline: string;
  key: string;
  windowStart: number;
  ruleId: string;
  /** The rule's level (HIGH / MEDIUM for risk), null for rules that set none. */
  level: string | null;
  alertType: string;
}

export interface RecordCoordinates {
  topic: string;
  partition: number;
  offset: number;
}

export interface ReferenceResult {
  /** Sorted by pipeline, key, windowStart. */
  windows: ReferenceWindow[];
  /** Sorted by pipeline, key, windowStart, ruleId. */
  alerts: ReferenceAlert[];
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
}

export interface ReferenceOptions {
  /** Watermark delay in ms (default 600,000: docs/design.md's 10 minutes). */
  watermarkDelayMs?: number;
  /** How far an event time may be ahead of its record's Kafka timestamp (default 300,000: ingest's MAX_EVENT_AHEAD_MS). */
  maxEventAheadMs?: number;
}
