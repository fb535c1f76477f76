/** Decoding window items into StoredWindow. */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { StoredSlots, StoredWindow } from '../../windows/features-of.ts';
import { WINDOW_ATTR as A } from '../tables.ts';

export function storedWindowOf(item: Record<string, AttributeValue>): StoredWindow {
  const slots: StoredSlots = {};
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(A.slotPrefix)) continue;
    const slot = name.slice(A.slotPrefix.length);
    if (value.N !== undefined) slots[slot] = Number(value.N);
    else if (value.NS) slots[slot] = value.NS.map(Number);
    else if (value.SS) slots[slot] = value.SS;
  }
  // A distinct slot past its cap: its set is a sample, its sketch the count.
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(A.sketchPrefix) || value.B === undefined) continue;
    const slot = name.slice(A.sketchPrefix.length);
    const sample = slots[slot];
    slots[slot] = { values: Array.isArray(sample) ? (sample as string[]) : [], sketch: value.B };
  }
  const bucketOf = item[A.bucketOf]?.N;
  return {
    ...(bucketOf !== undefined ? { bucketOfSizeMs: Number(bucketOf) } : {}),
    pipeline: item[A.pipeline]!.S!,
    key: item[A.key]!.S!,
    windowStart: Number(item[A.windowStart]!.N),
    windowEnd: Number(item[A.windowEnd]!.N),
    closedAt: item[A.closedAt]?.N !== undefined ? Number(item[A.closedAt]!.N) : undefined,
    slots,
    version: item[A.version]?.N !== undefined ? Number(item[A.version]!.N) : undefined,
    ...(item[A.finishedAt] !== undefined || item[A.setAsideAt] !== undefined ? { finished: true as const } : {}),
  };
}
