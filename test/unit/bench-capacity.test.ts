import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { CapacityTally, countCapacity, itemSize, numberSize, readUnits, valueSize, writeUnits } from '../../bench/capacity.ts';

describe('bench capacity arithmetic', () => {
  it('sizes items by DynamoDB rules: names plus values', () => {
    expect(valueSize({ S: 'héllo' })).toBe(6);
    expect(numberSize('12345')).toBe(4);
    expect(numberSize('-0.0012')).toBe(2);
    // Leading and trailing zeros are trimmed: 17e11 has two significant digits.
    expect(numberSize('1700000000000')).toBe(2);
    expect(numberSize('1700000000001')).toBe(8);
    expect(valueSize({ SS: ['ab', 'cde'] })).toBe(5);
    expect(valueSize({ L: [{ S: 'a' }, { BOOL: true }] })).toBe(3 + 2 + 2);
    expect(valueSize({ M: { k: { S: 'v' } } })).toBe(3 + 1 + 1 + 1);
    expect(itemSize({ pk: { S: 'payments#42' }, sk: { N: '1' } })).toBe(2 + 11 + 2 + 2);
  });

  it('rounds write units up per started KB and read units per started 4 KB', () => {
    expect(writeUnits(0)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
    expect(readUnits(100, true)).toBe(1);
    expect(readUnits(100, false)).toBe(0.5);
    expect(readUnits(4097, true)).toBe(2);
  });

  it('adds reported capacity by table, index units apart, and computes failed conditional writes', () => {
    const t = new CapacityTally();
    t.request('UpdateItemCommand', 'w');
    t.consumed('UpdateItemCommand', { TableName: 'w', CapacityUnits: 2, GlobalSecondaryIndexes: { due: { CapacityUnits: 1 } } });
    t.request('BatchGetItemCommand', 's');
    t.consumed('BatchGetItemCommand', [{ TableName: 's', CapacityUnits: 1.5 }]);
    t.request('UpdateItemCommand', 'w');
    t.failedConditionalWrite('w', { big: { S: 'x'.repeat(1500) } });
    t.request('PutItemCommand', 'w');
    t.failedConditionalWrite('w', undefined);
    expect(t.table('w')).toMatchObject({ writeRequests: 3, writeUnits: 2 + 2 + 1, indexWriteUnits: 1, failedConditionalWrites: 2, computedWriteUnits: 3 });
    expect(t.table('s')).toMatchObject({ readRequests: 1, readUnits: 1.5, writeRequests: 0 });
    expect(t.total().writeUnits).toBe(5);
    expect(t.total(['s']).writeUnits).toBe(0);
    expect(t.commands).toEqual({ UpdateItemCommand: 2, BatchGetItemCommand: 1, PutItemCommand: 1 });
  });

  it('asks DynamoDB for capacity on item commands and counts what comes back', async () => {
    let handler: ((args: { input: Record<string, unknown> }) => Promise<unknown>) | undefined;
    const seen: Record<string, unknown>[] = [];
    const client = {
      middlewareStack: {
        add: (mw: (next: unknown, ctx: unknown) => typeof handler) => {
          handler = mw(async (args: { input: Record<string, unknown> }) => {
            seen.push({ ...args.input });
            if (args.input.ConditionExpression) throw Object.assign(new Error('no'), { name: 'ConditionalCheckFailedException', Item: { a: { S: 'x' } } });
            return { output: { ConsumedCapacity: { TableName: 'w', CapacityUnits: 1 } } };
          }, { commandName: 'UpdateItemCommand' });
        },
      },
    } as unknown as DynamoDBClient;
    const tally = countCapacity(client);
    await handler!({ input: { TableName: 'w' } });
    await expect(handler!({ input: { TableName: 'w', ConditionExpression: 'x' } })).rejects.toThrow('no');
    expect(seen[0]!.ReturnConsumedCapacity).toBe('INDEXES');
    expect(tally.table('w')).toMatchObject({ writeRequests: 2, writeUnits: 2, failedConditionalWrites: 1, computedWriteUnits: 1 });
  });
});
