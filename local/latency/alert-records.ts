/** Reads every alert record of the alerts table, as local/latency/latency.ts needs it. */
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { recordedAlertOf, type RecordedAlert } from './latency.ts';

/**
 * The alert records (`pk = alert#<id>`) of `table`, whatever wrote them: the closer today, ingest
 * for early alerts; items that are not alerts (results, windows set aside) are skipped.
 */
export async function readAlertRecords(client: DynamoDBClient, table: string): Promise<RecordedAlert[]> {
  const alerts: RecordedAlert[] = [];
  let start: Record<string, any> | undefined;
  do {
    const out = await client.send(
      new ScanCommand({ TableName: table, ExclusiveStartKey: start, FilterExpression: 'begins_with(pk, :p)', ExpressionAttributeValues: { ':p': { S: 'alert#' } } }),
    );
    for (const item of out.Items ?? []) {
      const alert = recordedAlertOf(unmarshall(item));
      if (alert) alerts.push(alert);
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return alerts;
}
