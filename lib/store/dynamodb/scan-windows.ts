/** Reads every window item: for tests, `top` and local summaries, never on a hot path. */
import { paginateScan, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { StoredWindow } from '../../windows/features-of.ts';
import { isDuePagePk } from '../tables.ts';
import { storedWindowOf } from './window-items.ts';

export async function scanWindows(client: DynamoDBClient, tableName: string): Promise<StoredWindow[]> {
  const out: StoredWindow[] = [];
  for await (const page of paginateScan({ client }, { TableName: tableName })) {
    // Due pages share the table (docs/design.md, "Due pages"); they are no windows.
    for (const item of page.Items ?? []) if (!isDuePagePk(item.pk!.S!)) out.push(storedWindowOf(item));
  }
  return out;
}
