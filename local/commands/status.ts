/**
 * `streamguard status`: where the system stands, from its tables (local or AWS): per pipeline the
 * watermark and how far it trails wall-clock time, open and due windows, recent closing and side
 * output; per partition the greatest event time applied and the offset it came with, and the lag
 * when a broker is reachable (KAFKA_BROKERS).
 */
import { DynamoDBClient, paginateQuery, paginateScan, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import { defaultMappings } from '../../lib/config/deployment.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { PIPELINE_WATERMARK_PK } from '../../lib/store/dynamodb/closer-store.ts';
import { WATERMARK_PK_PREFIX } from '../../lib/store/dynamodb/watermark-store.ts';
import { DUE_PAGE_PK_PREFIX, DUE_SHARDS, WINDOW_ATTR, windowsTable } from '../../lib/store/tables.ts';
import { localTableNames } from '../services/tables.ts';

const HOUR_MS = 3_600_000;

/** Tables named by the environment (as the stack sets them), else the local runtime's names. */
function tables() {
  const local = localTableNames();
  return {
    windows: process.env.WINDOWS_TABLE ?? local.windows,
    state: process.env.STATE_TABLE ?? local.state,
    sideOutput: process.env.SIDE_OUTPUT_TABLE ?? local.sideOutput,
  };
}

async function countQuery(client: DynamoDBClient, input: Parameters<typeof paginateQuery>[1]): Promise<number> {
  let n = 0;
  for await (const page of paginateQuery({ client }, { ...input, Select: 'COUNT' })) n += page.Count ?? 0;
  return n;
}

async function countScan(client: DynamoDBClient, input: Parameters<typeof paginateScan>[1]): Promise<number> {
  let n = 0;
  for await (const page of paginateScan({ client }, { ...input, Select: 'COUNT' })) n += page.Count ?? 0;
  return n;
}

async function queryItems(client: DynamoDBClient, table: string, pk: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  for await (const page of paginateQuery({ client }, { TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: pk } } })) {
    items.push(...(page.Items ?? []));
  }
  return items;
}

const iso = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z'));

/** 93_000 -> "93s", 600_000 -> "10m", 9_000_000 -> "2.5h". */
export function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  if (Math.abs(s) < 120) return `${s}s`;
  const m = Math.round(s / 60);
  return Math.abs(m) < 120 ? `${m}m` : `${(m / 60).toFixed(1)}h`;
}

/** The high watermark per partition of each topic, or undefined when no broker is configured or reachable. */
async function highWatermarks(topics: string[]): Promise<Map<string, number> | undefined> {
  const brokers = process.env.KAFKA_BROKERS?.split(',').filter(Boolean);
  if (!brokers?.length) return undefined;
  const admin = new Kafka({ clientId: 'streamguard-status', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3_000, retry: { retries: 1 } }).admin();
  try {
    await admin.connect();
    const out = new Map<string, number>();
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) out.set(`${topic}-${p.partition}`, Number(p.high));
    }
    return out;
  } catch {
    return undefined;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Prints the status report and returns the exit code (0, or 1 when the tables cannot be read). */
export async function runStatus(now: number = Date.now()): Promise<number> {
  const t = tables();
  const client = new DynamoDBClient({});
  try {
    const since = now - HOUR_MS;
    console.log(`status at ${iso(now)} (tables ${t.windows}, ${t.state}, ${t.sideOutput})`);

    const watermarks = new Map((await queryItems(client, t.state, PIPELINE_WATERMARK_PK)).map((i) => [i.sk!.S!, Number(i.watermark?.N)]));
    // Closed in the last hour, per pipeline, and the latest close: the closer's recent work (a scan).
    const closed = new Map<string, { count: number; last: number }>();
    for await (const page of paginateScan(
      { client },
      {
        TableName: t.windows,
        ProjectionExpression: '#pl, #c',
        FilterExpression: '#c >= :since',
        ExpressionAttributeNames: { '#pl': WINDOW_ATTR.pipeline, '#c': WINDOW_ATTR.closedAt },
        ExpressionAttributeValues: { ':since': { N: String(since) } },
      },
    )) {
      for (const item of page.Items ?? []) {
        const c = closed.get(item.pipeline!.S!) ?? { count: 0, last: 0 };
        c.count++;
        c.last = Math.max(c.last, Number(item.closedAt!.N));
        closed.set(item.pipeline!.S!, c);
      }
    }

    console.log('\npipelines');
    const dueIndex = windowsTable.indexes[0]!.name;
    for (const p of builtinPipelines) {
      const wm = watermarks.get(p.name);
      let open = 0;
      let due = 0;
      for (let shard = 0; shard < DUE_SHARDS; shard++) {
        const base = { TableName: t.windows, IndexName: dueIndex, ExpressionAttributeNames: { '#s': WINDOW_ATTR.dueShard, '#e': WINDOW_ATTR.windowEnd } };
        if (wm !== undefined) {
          due += await countQuery(client, { ...base, KeyConditionExpression: '#s = :s AND #e <= :w', ExpressionAttributeValues: { ':s': { S: `${p.name}#${shard}` }, ':w': { N: String(wm) } } });
        }
      }
      // Open windows are counted from the table: they are listed on due pages, not in the index one by one.
      open = await countScan(client, {
        TableName: t.windows,
        FilterExpression: '#pl = :pl AND attribute_not_exists(#c) AND NOT begins_with(pk, :page)',
        ExpressionAttributeNames: { '#pl': WINDOW_ATTR.pipeline, '#c': WINDOW_ATTR.closedAt },
        ExpressionAttributeValues: { ':pl': { S: p.name }, ':page': { S: DUE_PAGE_PK_PREFIX } },
      });
      const c = closed.get(p.name);
      console.log(
        `  ${p.name.padEnd(14)} watermark ${iso(wm)}${wm === undefined ? ' (none yet)' : ` (${ago(now - wm)} behind wall clock)`}  open ${open}  due ${due}  ` +
          `closed last hour ${c?.count ?? 0}${c ? ` (last ${iso(c.last)}, ${ago(now - c.last)} ago)` : ''}`,
      );
    }

    const kinds = ['quarantine', 'late'];
    const counts: string[] = [];
    for (const kind of kinds) {
      counts.push(
        `${kind} ${await countScan(client, {
          TableName: t.sideOutput,
          FilterExpression: 'kind = :k AND #at >= :since',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':k': { S: kind }, ':since': { N: String(since) } },
        })}`,
      );
    }
    console.log(`\nside output, last hour: ${counts.join(', ')}`);

    const topics = defaultMappings.map((m) => m.topic);
    const high = await highWatermarks(topics);
    console.log(`\npartitions (greatest event time applied, the offset it came with${high ? ', lag to the broker\'s end' : '; set KAFKA_BROKERS for lag'})`);
    for (const topic of topics) {
      const parts = (await queryItems(client, t.state, WATERMARK_PK_PREFIX + topic)).sort((a, b) => Number(a.sk!.S) - Number(b.sk!.S));
      if (!parts.length) console.log(`  ${topic}: nothing applied yet`);
      for (const item of parts) {
        const id = `${topic}-${item.sk!.S}`;
        const offset = Number(item.lastOffset?.N);
        const eventTime = Number(item.maxEventTime?.N);
        const advancedAt = item.advancedAt?.N === undefined ? undefined : Number(item.advancedAt.N);
        const end = high?.get(id);
        // The offset is the one the greatest event time came with, so this lag is an upper bound.
        const lag = end === undefined ? '' : `  lag <= ${Math.max(0, end - offset - 1)}`;
        console.log(`  ${id.padEnd(22)} offset ${offset}  event time ${iso(eventTime)}  advanced ${advancedAt === undefined ? '-' : `${ago(now - advancedAt)} ago`}${lag}`);
      }
    }
    return 0;
  } finally {
    client.destroy();
  }
}
