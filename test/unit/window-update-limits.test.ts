/**
 * The window write stays within DynamoDB's documented expression limits for any partition count:
 * the largest UpdateItem ingest can build (every slot of the widest pipeline, the most marks one
 * write may carry, the longest guard) is measured against 4 KB and 300 operators.
 */
import { describe, expect, it } from 'vitest';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { buildWindowUpdate, EXPRESSION_LIMITS, MAX_MARKS_PER_WRITE } from '../../lib/store/dynamodb/window-store.ts';
import type { MarkGuard, SlotWrite, WindowWrite } from '../../lib/store/ports.ts';

const FUNCTIONS = /\b(attribute_exists|attribute_not_exists|attribute_type|begins_with|contains|size|if_not_exists|list_append)\s*\(/g;

/**
 * Operators and functions as DynamoDB counts them: comparators, AND/OR/NOT, BETWEEN, IN and
 * functions in a condition; functions and + / - in an update (a SET's "=" is assignment, not an
 * operator: the documentation's `SET a = :val1 + :val2 + :val3` "contains two + operators").
 */
export function operatorsIn(expression: string, kind: 'condition' | 'update'): number {
  const functions = expression.match(FUNCTIONS)?.length ?? 0;
  if (kind === 'update') return functions + (expression.match(/[+-]/g)?.length ?? 0);
  const comparators = expression.match(/<>|<=|>=|=|<|>/g)?.length ?? 0;
  const logical = expression.match(/\b(AND|OR|NOT|BETWEEN|IN)\b/g)?.length ?? 0;
  return functions + comparators + logical;
}

const widest = builtinPipelines.reduce((a, b) => (b.slots.length + (b.rejectedAs ? 1 : 0) > a.slots.length + (a.rejectedAs ? 1 : 0) ? b : a));

function largestWrite(marks: number, guard: (i: number) => MarkGuard): WindowWrite {
  const slots: SlotWrite[] = widest.slots.map((s) => ({ name: s.name, op: s.op, value: s.op === 'set' ? ['x'] : 1 }));
  if (widest.rejectedAs) slots.push({ name: widest.rejectedAs, op: 'add', value: 1 });
  return { pipeline: widest.name, key: 'k', windowStart: 0, windowEnd: 60_000, slots, marks: Array.from({ length: marks }, (_, i) => guard(i)) };
}

const options = { tableName: 'windows', retentionMs: 86_400_000 };
const fresh = (i: number): MarkGuard => ({ partitionId: `t-${i}`, below: 1_000_000_000_000, setTo: 1_000_000_000_999 });
const compareAndSet = (i: number): MarkGuard => ({ partitionId: `t-${i}`, equals: 1_000_000_000_000, setTo: 1_000_000_000_999 });

function measure(write: WindowWrite) {
  const input = buildWindowUpdate(write, options);
  const condition = { bytes: Buffer.byteLength(input.ConditionExpression), operators: operatorsIn(input.ConditionExpression, 'condition') };
  const update = { bytes: Buffer.byteLength(input.UpdateExpression), operators: operatorsIn(input.UpdateExpression, 'update') };
  return { condition, update, operators: condition.operators + update.operators, placeholders: [...Object.keys(input.ExpressionAttributeNames), ...Object.keys(input.ExpressionAttributeValues)] };
}

describe('window write expression limits', () => {
  it('counts operators as the documentation does', () => {
    expect(operatorsIn('SET a = :val1 + :val2 + :val3', 'update')).toBe(2);
    expect(operatorsIn('attribute_not_exists(#c) AND (attribute_not_exists(#m0) OR #m0 < :b0)', 'condition')).toBe(5);
  });

  it(`keeps the widest write (${MAX_MARKS_PER_WRITE} marks) within 4 KB and 300 operators, with 30% of each to spare`, () => {
    for (const guard of [fresh, compareAndSet]) {
      const m = measure(largestWrite(MAX_MARKS_PER_WRITE, guard));
      // Counted together, in case the service sums condition and update.
      expect(m.operators).toBeLessThanOrEqual(EXPRESSION_LIMITS.operators * 0.7);
      expect(m.condition.bytes).toBeLessThanOrEqual(EXPRESSION_LIMITS.bytes * 0.7);
      expect(m.update.bytes).toBeLessThanOrEqual(EXPRESSION_LIMITS.bytes * 0.7);
      expect(Math.max(...m.placeholders.map((p) => Buffer.byteLength(p)))).toBeLessThanOrEqual(255);
    }
  });

  it('explains the failure it fixes: one write guarding 75 partitions passes 300 operators', () => {
    expect(measure(largestWrite(75, fresh)).condition.operators).toBeGreaterThan(EXPRESSION_LIMITS.operators);
    // Where the widest write first passes the limit (the bounded-slot guards take some of it).
    let first = 1;
    while (measure(largestWrite(first, fresh)).operators <= EXPRESSION_LIMITS.operators) first++;
    expect(MAX_MARKS_PER_WRITE).toBeLessThan(first * 0.75);
  });
});
