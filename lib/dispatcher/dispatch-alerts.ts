/**
 * The dispatcher: the alerts table is the outbox, and this reads its DynamoDB stream and sends each
 * new alert record to the alert sinks (the Kafka alert topic; EventBridge or SNS would be further
 * AlertSinks behind the same port). Delivery is at least once: a record's sequence number is only
 * passed once its alert was accepted, and consumers dedupe by the alert id.
 *
 * Only INSERTs of alert items are sent. The table also holds set-aside records,
 * and an alert record written early is later UPDATEd with its window's final features (a MODIFY):
 * one message per alert record, so the first write of the item is the one that counts. TTL
 * deletions are REMOVEs and are skipped as well. docs/design.md, "Alert delivery".
 */
import { StreamguardError } from '../errors.ts';
import type { Alert, AlertSink } from '../closer/ports.ts';
import type { DynamoDBStreamEvent, DynamoDBStreamRecord, StreamBatchResponse, StreamImage } from './stream-event.ts';

/** An alert item of the stream that cannot be read as an alert (a field missing or of the wrong type). */
export class AlertRecordError extends StreamguardError {}

export interface DispatcherDeps {
  sink: AlertSink;
  /** Reads an alert item's new image; throws AlertRecordError when it is not a well-formed alert. */
  decode: (image: StreamImage) => Alert;
}

export interface DispatchReport {
  records: number;
  /** Alert INSERTs sent (a redelivered batch counts again). */
  sent: number;
  /** Records that are not alert INSERTs (results, set-aside records, updates, TTL deletions). */
  skipped: number;
  /** Sequence number the mapping resumes from, when the batch did not go through whole. */
  failedAt?: string;
  /** Why, when failedAt is set. */
  error?: string;
}

/** Sort key of alert items (lib/store/dynamodb/alert-store.ts: pk "alert#<id>", sk "alert"). */
const ALERT_PK_PREFIX = 'alert#';
const ALERT_SK = 'alert';

/** Whether a stream record is the first write of an alert item. */
export function isAlertInsert(record: DynamoDBStreamRecord): boolean {
  if (record.eventName !== 'INSERT') return false;
  const keys = record.dynamodb?.Keys;
  const pk = keys?.pk?.S;
  return typeof pk === 'string' && pk.startsWith(ALERT_PK_PREFIX) && keys?.sk?.S === ALERT_SK;
}

const describe = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/**
 * Sends the batch's alert INSERTs in stream order. On a failure, names the first record not
 * delivered: the mapping retries from there (records after it that were sent are sent again, which
 * at-least-once allows), and after its retry limit sends the batch's description to the on-failure
 * destination, so one alert the topic refuses for good does not hold up its shard.
 */
export async function dispatchAlerts(event: DynamoDBStreamEvent, deps: DispatcherDeps): Promise<DispatchReport> {
  const records = Array.isArray(event?.Records) ? event.Records : [];
  const report: DispatchReport = { records: records.length, sent: 0, skipped: 0 };
  const pending: { seq: string; alert: Alert }[] = [];
  for (const record of records) {
    const seq = record.dynamodb?.SequenceNumber;
    if (typeof seq !== 'string' || seq === '') {
      // Nothing to resume from: the whole batch is retried (AWS does the same for an empty identifier).
      throw new AlertRecordError(`stream record ${record.eventID ?? '(no eventID)'} has no dynamodb.SequenceNumber`);
    }
    if (!isAlertInsert(record)) {
      report.skipped++;
      continue;
    }
    try {
      const image = record.dynamodb?.NewImage;
      if (!image) throw new AlertRecordError(`alert record ${String(record.dynamodb?.Keys?.pk?.S)} (sequence ${seq}) has no NewImage: the stream must be NEW_IMAGE or NEW_AND_OLD_IMAGES`);
      pending.push({ seq, alert: deps.decode(image) });
    } catch (err) {
      // Sent up to here; the bad record is retried, then given to the on-failure destination.
      const delivered = await send(pending, deps.sink, report);
      if (delivered) {
        report.failedAt = seq;
        report.error = describe(err);
      }
      return report;
    }
  }
  await send(pending, deps.sink, report);
  return report;
}

/** Sends alerts in one request, or one by one to find the first the sink refuses; true when all went. */
async function send(pending: { seq: string; alert: Alert }[], sink: AlertSink, report: DispatchReport): Promise<boolean> {
  if (pending.length === 0) return true;
  try {
    await sink.emit(pending.map((p) => p.alert));
    report.sent += pending.length;
    return true;
  } catch (err) {
    if (pending.length === 1) {
      report.failedAt = pending[0]!.seq;
      report.error = describe(err);
      return false;
    }
  }
  for (const p of pending) {
    try {
      await sink.emit([p.alert]);
      report.sent++;
    } catch (err) {
      report.failedAt = p.seq;
      report.error = describe(err);
      return false;
    }
  }
  return true;
}

export type DispatcherHandler = (event: DynamoDBStreamEvent, context?: unknown) => Promise<StreamBatchResponse>;

/**
 * The dispatcher as a plain async handler built from its dependencies, like the closer's
 * (lib/closer/closer-handler.ts); logging and metrics are attached at the edge
 * (functions/dispatch-alerts.ts). It answers ReportBatchItemFailures, which the mapping must have on.
 */
export function createDispatcherHandler(deps: DispatcherDeps, onReport: (report: DispatchReport) => void = () => {}): DispatcherHandler {
  return async (event) => {
    const report = await dispatchAlerts(event, deps);
    onReport(report);
    return { batchItemFailures: report.failedAt === undefined ? [] : [{ itemIdentifier: report.failedAt }] };
  };
}
