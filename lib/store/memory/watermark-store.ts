/** WatermarkStore in memory: partition marks raised only when their max event time grows. */
import type { PartitionMark, PartitionWatermark, WatermarkStore } from '../ports.ts';
import type { MemoryTables } from './memory-tables.ts';
import { partitionIdOf } from '../../codec/partition-id.ts';

export class MemoryWatermarkStore implements WatermarkStore {
  constructor(
    private readonly tables: MemoryTables,
    private readonly now: () => number = Date.now,
  ) {}

  async advance(p: PartitionWatermark): Promise<void> {
    let byPartition = this.tables.partitionMarks.get(p.topic);
    if (!byPartition) this.tables.partitionMarks.set(p.topic, (byPartition = new Map()));
    const stored = byPartition.get(p.partition);
    if (stored !== undefined && !(stored.maxEventTime < p.maxEventTime)) return;
    byPartition.set(p.partition, { topic: p.topic, partition: p.partition, maxEventTime: p.maxEventTime, lastOffset: p.lastOffset, advancedAt: this.now() });
  }

  async read(partitions: readonly { topic: string; partition: number }[]): Promise<Map<string, PartitionMark>> {
    const marks = new Map<string, PartitionMark>();
    for (const { topic, partition } of partitions) {
      const m = this.tables.partitionMarks.get(topic)?.get(partition);
      if (m) marks.set(partitionIdOf(topic, partition), { maxEventTime: m.maxEventTime, lastOffset: m.lastOffset });
    }
    return marks;
  }
}
