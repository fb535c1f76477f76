/**
 * What the system stored, read back for verification: windows with their features, alert records
 * (window alerts, and sequence alerts with their matched chains), and the quarantined and late side
 * records. It decodes with the system's own readers (scanWindows,
 * featuresOf); the independence of the check lies in the reference computation, not here.
 */
import { paginateScan, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import type { Pipeline } from '../../lib/pipelines/pipeline.ts';
import { scanWindows } from '../../lib/store/dynamodb/scan-windows.ts';
import type { TableNames } from '../../lib/store/tables.ts';
import { featuresOf, type Features } from '../../lib/windows/features-of.ts';
import { recordIdOf } from '../../lib/codec/partition-id.ts';

/** A stored window; distinct features are sorted arrays, as in the reference. */
export interface SystemWindow {
  pipeline: string;
  key: string;
  windowStart: number;
  windowEnd: number;
  /** closedAt is present: the closer took the window out of play. */
  closed: boolean;
  features: Features;
}

/** An alert record from the alerts table (set-aside records, which share the table, are left out). */
export interface SystemAlert {
  id: string;
  pipeline: string;
  key: string;
  /** The window that recorded the alert (for a hopping pipeline, one window of the alert's cooldown group). */
  windowStart: number;
  windowEnd?: number;
  ruleId: string;
  level: string | null;
  alertType: string;
  /** 'early' when ingest raised it (docs/design.md, "Early alerts"); records without one were raised at close. */
  timing?: 'early' | 'close';
  /** The features the record carries: for an early alert, those that made it fire. */
  features?: Record<string, unknown>;
  /** Added by the closer when the window closed; absent until then. */
  finalFeatures?: Record<string, unknown>;
}

/** One event of a sequence alert's matched chain, as the record lists it (SEQ-SEMANTICS, "Alert record"). */
export interface SystemChainEvent {
  step: string;
  partition: number;
  offset: number;
  eventTime: number;
}

/** A sequence alert record (pipeline 'sequence'): the rule, the key and the chain that matched. */
export interface SystemSequenceAlert {
  id: string;
  ruleId: string;
  key: string;
  level: string | null;
  alertType: string;
  /** The chain's first and last event times, as the record says. */
  windowStart: number;
  windowEnd: number;
  timing?: 'early' | 'close';
  /** The record's `matched` chain; undefined when it has none that reads as one (verify reports it). */
  matched: SystemChainEvent[] | undefined;
}

/** Where a side record came from in the log. */
export interface SideCoordinates {
  topic: string;
  partition: number;
  offset: number;
}

/** A late record: one per (record, pipeline), as a record may be late for several pipelines. */
export interface LateCoordinates extends SideCoordinates {
  pipeline: string;
}

export interface SystemState {
  windows: SystemWindow[];
  /** Window alerts: every alert record but the sequence ones. */
  alerts: SystemAlert[];
  /** Alert records with pipeline 'sequence'; absent: none were read. */
  sequenceAlerts?: SystemSequenceAlert[];
  quarantined: SideCoordinates[];
  late: LateCoordinates[];
}

/**
 * Reads everything the system stored, scanning each table to its end (scans paginate).
 *
 * @param pipelines the pipelines whose windows may be stored; a window of any other pipeline is an
 *   error, since its slots could not be read as features.
 */
export async function readSystemState(client: DynamoDBClient, tables: TableNames, pipelines: readonly Pipeline[] = builtinPipelines): Promise<SystemState> {
  const [windows, alerts, side] = await Promise.all([
    readWindows(client, tables.windows, pipelines),
    readAlerts(client, tables.alerts),
    readSideOutputs(client, tables.sideOutput),
  ]);
  return { windows, ...alerts, ...side };
}

async function readWindows(client: DynamoDBClient, table: string, pipelines: readonly Pipeline[]): Promise<SystemWindow[]> {
  const byName = new Map(pipelines.map((p) => [p.name, p]));
  return (await scanWindows(client, table)).map((w) => {
    const pipeline = byName.get(w.pipeline);
    if (!pipeline) throw new Error(`window ${w.pipeline}#${w.key}@${w.windowStart}: unknown pipeline "${w.pipeline}"`);
    const features = featuresOf(pipeline, w.slots);
    // Storage keeps string sets in no particular order; the reference sorts them.
    for (const [name, value] of Object.entries(features)) if (Array.isArray(value)) features[name] = [...value].sort();
    return { pipeline: w.pipeline, key: w.key, windowStart: w.windowStart, windowEnd: w.windowEnd, closed: w.closedAt !== undefined, features };
  });
}

/** Scans a table to its end, fetching only the named attributes (side records carry up to 1 KB samples). */
async function* scanItems(client: DynamoDBClient, table: string, attributes: string[], filter?: { expression: string; values: Record<string, AttributeValue> }) {
  // Names go through placeholders: several (partition, offset, level...) are DynamoDB reserved words.
  const names = Object.fromEntries(attributes.map((a) => [`#${a}`, a]));
  const pages = paginateScan(
    { client },
    {
      TableName: table,
      ProjectionExpression: Object.keys(names).join(', '),
      ExpressionAttributeNames: names,
      ...(filter ? { FilterExpression: filter.expression, ExpressionAttributeValues: filter.values } : {}),
    },
  );
  for await (const page of pages) yield* page.Items ?? [];
}

const ALERT_ATTRS = ['pk', 'sk', 'id', 'pipeline', 'windowKey', 'windowStart', 'windowEnd', 'rule', 'level', 'alertType', 'timing', 'features', 'finalFeatures', 'matched'];

/** The pipeline name of sequence alert records (SEQ-SEMANTICS, "Alert record"). */
export const SEQUENCE_PIPELINE = 'sequence';

/**
 * A record's `matched` chain: a JSON string attribute (as `features` is stored) or a list of maps
 * {step S, partition N, offset N, eventTime N}; undefined when it is neither, or an entry lacks a field.
 */
export function chainOf(attribute: AttributeValue | undefined): SystemChainEvent[] | undefined {
  if (attribute === undefined) return undefined;
  let entries: unknown[];
  if (attribute.S !== undefined) {
    try {
      const parsed: unknown = JSON.parse(attribute.S);
      if (!Array.isArray(parsed)) return undefined;
      entries = parsed;
    } catch {
      return undefined;
    }
  } else if (attribute.L !== undefined) {
    entries = attribute.L.map((v) => {
      const m = v.M;
      if (!m) return undefined;
      return { step: m.step?.S, partition: Number(m.partition?.N), offset: Number(m.offset?.N), eventTime: Number(m.eventTime?.N) };
    });
  } else return undefined;
  const chain: SystemChainEvent[] = [];
  for (const e of entries) {
    const x = e as Partial<SystemChainEvent> | undefined;
    if (typeof x?.step !== 'string' || !Number.isInteger(x.partition) || !Number.isInteger(x.offset) || !Number.isFinite(x.eventTime)) return undefined;
    chain.push({ step: x.step, partition: x.partition!, offset: x.offset!, eventTime: x.eventTime! });
  }
  return chain;
}

async function readAlerts(client: DynamoDBClient, table: string): Promise<Pick<SystemState, 'alerts' | 'sequenceAlerts'>> {
  const out: SystemAlert[] = [];
  const sequenceAlerts: SystemSequenceAlert[] = [];
  // Alert items are pk "alert#<id>", sk "alert"; set-aside records ("aside#...") share the table.
  const filter = { expression: 'begins_with(#pk, :alert) AND #sk = :sk', values: { ':alert': { S: 'alert#' }, ':sk': { S: 'alert' } } };
  for await (const item of scanItems(client, table, ALERT_ATTRS, filter)) {
    if (item.pipeline?.S === SEQUENCE_PIPELINE) {
      sequenceAlerts.push({
        id: item.id!.S!,
        ruleId: item.rule!.S!,
        key: item.windowKey!.S!,
        level: item.level?.S ?? null,
        alertType: item.alertType!.S!,
        windowStart: Number(item.windowStart?.N),
        windowEnd: Number(item.windowEnd?.N),
        timing: item.timing?.S === 'early' ? 'early' : 'close',
        matched: chainOf(item.matched),
      });
      continue;
    }
    out.push({
      id: item.id!.S!,
      pipeline: item.pipeline!.S!,
      key: item.windowKey!.S!,
      windowStart: Number(item.windowStart!.N),
      ...(item.windowEnd?.N !== undefined ? { windowEnd: Number(item.windowEnd.N) } : {}),
      ruleId: item.rule!.S!,
      level: item.level?.S ?? null,
      alertType: item.alertType!.S!,
      timing: item.timing?.S === 'early' ? 'early' : 'close',
      features: item.features?.S ? JSON.parse(item.features.S) : {},
      ...(item.finalFeatures?.S ? { finalFeatures: JSON.parse(item.finalFeatures.S) } : {}),
    });
  }
  return { alerts: out, sequenceAlerts };
}

async function readSideOutputs(client: DynamoDBClient, table: string): Promise<Pick<SystemState, 'quarantined' | 'late'>> {
  const quarantined: SideCoordinates[] = [];
  const late: LateCoordinates[] = [];
  for await (const item of scanItems(client, table, ['kind', 'topic', 'partition', 'offset', 'pipeline'])) {
    const at = { topic: item.topic!.S!, partition: Number(item.partition!.N), offset: Number(item.offset!.N) };
    const kind = item.kind?.S;
    if (kind === 'quarantine') quarantined.push(at);
    else if (kind === 'late') late.push({ ...at, pipeline: item.pipeline!.S! });
    else throw new Error(`side output ${recordIdOf(at.topic, at.partition, at.offset)}: unknown kind "${kind}"`);
  }
  return { quarantined, late };
}
