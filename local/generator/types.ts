/** The records and scenarios the generator hands out (re-exported by generate.ts, its public entry). */
import type { SourceTopic } from '../../lib/pipelines/topics.ts';
import type { Level } from '../../lib/rules/rule.ts';
import type { ScenarioKind } from './scenarios/index.ts';

/** A source topic, as the source system names it (lib/pipelines/topics.ts). */
export type Topic = SourceTopic;

/** One Kafka record to produce. */
export interface GeneratedRecord {
  topic: Topic;
  /** Kafka key (user id, IP or device id as text); null for some records, as real producers do. */
  key: string | null;
  /** The exact value bytes as text: JSON for good records, anything for malformed ones. */
  value: string;
  /** Why the record is malformed; absent for good records. */
  malformed?: string;
  /** The event time a correct decoder reads from `value` (epoch ms); undefined for malformed records. */
  eventTime: number | undefined;
  /** Set when the event time is far enough behind the stream that its window has already closed. */
  late?: boolean;
  /** Index into `scenarios` of the injected scenario this record belongs to. */
  scenario?: number;
  /**
   * The Kafka record timestamp to produce it with (epoch ms): the stream time the record is
   * produced at, and never before its event time, so that ingest's bound on events ahead of their
   * Kafka timestamp (MAX_EVENT_AHEAD_MS) judges generated records as their producer meant them,
   * whatever the wall clock reads. Absent: the producer's clock.
   */
  timestamp?: number;
  /**
   * The partition to produce to, as an index into the topic's partitions (taken modulo their
   * count, so a one-partition topic still takes it); absent: the partition of the key, as the
   * default partitioner chooses. Set for the records of scenarios that spread one user over two
   * partitions, as a producer that picks partitions itself does.
   */
  partition?: number;
}

export type { ScenarioKind };

/**
 * A fraud pattern injected into the stream, with the window in which a rule must fire; or, for a
 * sequence near miss (`expectAlert` false), a pattern its rule must NOT fire for.
 */
export interface InjectedScenario {
  kind: ScenarioKind;
  /**
   * The pipeline whose default rule must fire (a PipelineName with the built-in pipelines), or
   * 'sequence' for a sequence rule's scenario (its alert records' pipeline).
   */
  pipeline: string;
  /** The pipeline key (IP, user id or device id) the alert is for. */
  key: string;
  /**
   * A window of the pipeline (epoch ms, end exclusive) holding every event of the scenario, on which
   * its rule fires: the tumbling window, or for a hopping pipeline one of the overlapping windows
   * (the alert, one per cooldown group, may name another matching window; see scenarioAlerted).
   * For a sequence scenario: from the event time of the chain's first event (the alert's
   * windowStart) to just after its last; the user's earlier activity lies before it.
   */
  windowStart: number;
  windowEnd: number;
  /** Sequence scenarios: the id of the sequence rule, which, with the key, names the alert. */
  rule?: string;
  /** Sequence near misses: false, the rule must raise no alert for the key. Absent: it must raise one. */
  expectAlert?: false;
  /** Level the pipeline must assign: its rule's level, when it sets one (the risk scenarios). */
  expectedLevel?: Level;
  /** Number of records injected for the scenario. */
  events: number;
  /** What was injected, for humans. */
  detail: string;
}

export type Body = Record<string, unknown>;

/** An event time as written in a value: the field spelling and the value (ISO text or epoch ms). */
export interface Stamped {
  /** The event time a decoder reads back (whole-second formats round down). */
  t: number;
  field: string;
  value: string | number;
}

/** A well-formed record planned at an event time, before a slot of the stream is chosen for it. */
export interface PlannedEvent {
  topic: Topic;
  key: string | null;
  eventTime: number;
  body: Body;
  /** The partition to produce to (GeneratedRecord.partition); absent: by key. */
  partition?: number;
}

/**
 * Whether an alert is one a scenario raised: same pipeline and key, and a window overlapping the
 * scenario's. For tumbling windows that is the scenario's window itself; for hopping ones, any
 * window of the burst's alert groups (each names one matching window, which overlaps the burst).
 */
export function scenarioAlerted(scenario: Pick<InjectedScenario, 'pipeline' | 'key' | 'windowStart' | 'windowEnd'>, alert: { pipeline: string; key: string; windowStart: number; windowEnd: number }): boolean {
  return alert.pipeline === scenario.pipeline && alert.key === scenario.key && alert.windowStart < scenario.windowEnd && scenario.windowStart < alert.windowEnd;
}
