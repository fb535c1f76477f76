/**
 * Counting DynamoDB requests and capacity units, as sent by a client.
 *
 * Capacity comes from DynamoDB itself: a middleware sets `ReturnConsumedCapacity: 'INDEXES'` on
 * every item command and adds up what the answer reports (DynamoDB Local reports it, table and
 * index separately). One case has no answer to read: a conditional write whose condition fails
 * throws, and the exception carries no ConsumedCapacity. DynamoDB still bills it, by the size of
 * the item it already holds (at least 1 WCU), so those are computed here from the item returned
 * with `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`, or counted as 1 WCU when no item comes back.
 */
import type { AttributeValue, ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Commands that write (billed in write request units) and those that read (read request units). */
export const WRITE_COMMANDS = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteItemsCommand']);
export const READ_COMMANDS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand', 'TransactGetItemsCommand']);

/** Bytes DynamoDB counts for a number: about one byte per two significant digits, plus one. */
export function numberSize(n: string): number {
  const digits = n.replace(/^[-+]/, '').replace(/[eE].*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** Size of one attribute value, by DynamoDB's item size rules. */
export function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined) return numberSize(v.N);
  if (v.B !== undefined) return v.B.length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS !== undefined) return v.SS.reduce((n, s) => n + utf8(s), 0);
  if (v.NS !== undefined) return v.NS.reduce((n, s) => n + numberSize(s), 0);
  if (v.BS !== undefined) return v.BS.reduce((n, b) => n + b.length, 0);
  // Lists and maps: 3 bytes of overhead, plus one byte per element, plus the elements (and names).
  if (v.L !== undefined) return 3 + v.L.reduce((n, e) => n + 1 + valueSize(e), 0);
  if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((n, [k, e]) => n + 1 + utf8(k) + valueSize(e), 0);
  return 0;
}

/** Size of an item: every attribute's name plus its value. */
export function itemSize(item: Record<string, AttributeValue>): number {
  let n = 0;
  for (const [name, value] of Object.entries(item)) n += utf8(name) + valueSize(value);
  return n;
}

/** Write units of one standard write of an item this size: 1 per started KB, at least 1. */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}

/** Read units of one read of an item this size: per started 4 KB, halved when eventually consistent. */
export function readUnits(bytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(bytes / 4096));
  return consistent ? units : units / 2;
}

export interface TableTally {
  /** Requests sent (a BatchWriteItem is one request, however many items it carries). */
  writeRequests: number;
  readRequests: number;
  /** Capacity units, as DynamoDB reported them (plus computed ones for failed conditional writes). */
  writeUnits: number;
  readUnits: number;
  /** Of writeUnits: units the table's global secondary indexes consumed. */
  indexWriteUnits: number;
  failedConditionalWrites: number;
  /** Of writeUnits: computed for failed conditional writes (see the module comment). */
  computedWriteUnits: number;
}

const emptyTable = (): TableTally => ({
  writeRequests: 0,
  readRequests: 0,
  writeUnits: 0,
  readUnits: 0,
  indexWriteUnits: 0,
  failedConditionalWrites: 0,
  computedWriteUnits: 0,
});

/** Requests by command and capacity by table, as one client sent them. */
export class CapacityTally {
  readonly commands: Record<string, number> = {};
  readonly tables: Record<string, TableTally> = {};

  table(name: string): TableTally {
    return (this.tables[name] ??= emptyTable());
  }

  request(command: string, table: string | undefined): void {
    this.commands[command] = (this.commands[command] ?? 0) + 1;
    if (table === undefined) return;
    if (WRITE_COMMANDS.has(command)) this.table(table).writeRequests++;
    else if (READ_COMMANDS.has(command)) this.table(table).readRequests++;
  }

  consumed(command: string, capacity: ConsumedCapacity | ConsumedCapacity[] | undefined): void {
    const list = Array.isArray(capacity) ? capacity : capacity ? [capacity] : [];
    const write = WRITE_COMMANDS.has(command);
    for (const c of list) {
      if (!c.TableName) continue;
      const t = this.table(c.TableName);
      const units = c.CapacityUnits ?? 0;
      if (write) {
        t.writeUnits += units;
        for (const idx of Object.values(c.GlobalSecondaryIndexes ?? {})) t.indexWriteUnits += idx.CapacityUnits ?? 0;
      } else {
        t.readUnits += units;
      }
    }
  }

  failedConditionalWrite(table: string, existing: Record<string, AttributeValue> | undefined): void {
    const t = this.table(table);
    const units = existing ? writeUnits(itemSize(existing)) : 1;
    t.failedConditionalWrites++;
    t.writeUnits += units;
    t.computedWriteUnits += units;
  }

  /** Sums over the named tables (all when none are named). */
  total(tables?: readonly string[]): TableTally {
    const sum = emptyTable();
    for (const [name, t] of Object.entries(this.tables)) {
      if (tables && !tables.includes(name)) continue;
      for (const k of Object.keys(sum) as (keyof TableTally)[]) sum[k] += t[k];
    }
    return sum;
  }
}

/** Commands whose input takes ReturnConsumedCapacity. */
const ITEM_COMMANDS = new Set([...WRITE_COMMANDS, ...READ_COMMANDS]);

function tableOf(input: Record<string, unknown>): string | undefined {
  if (typeof input.TableName === 'string') return input.TableName;
  const items = (input.RequestItems ?? undefined) as Record<string, unknown> | undefined;
  if (items) return Object.keys(items)[0];
  const transact = input.TransactItems as { [op: string]: { TableName?: string } }[] | undefined;
  if (transact?.[0]) return Object.values(transact[0])[0]?.TableName;
  return undefined;
}

/** Installs the counting middleware on `client`; returns the tally it fills. */
export function countCapacity(client: DynamoDBClient): CapacityTally {
  const tally = new CapacityTally();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      const input = args.input as Record<string, unknown>;
      const table = tableOf(input);
      tally.request(command, table);
      if (ITEM_COMMANDS.has(command)) input.ReturnConsumedCapacity = 'INDEXES';
      try {
        const out = await next(args);
        tally.consumed(command, (out.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }).ConsumedCapacity);
        return out;
      } catch (err) {
        if ((err as Error).name === 'ConditionalCheckFailedException' && table !== undefined) {
          tally.failedConditionalWrite(table, (err as { Item?: Record<string, AttributeValue> }).Item);
        }
        throw err;
      }
    },
    { step: 'initialize', name: 'countCapacity' },
  );
  return tally;
}
