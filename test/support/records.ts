/** Deterministic record sets for ingest tests, with offsets assigned per partition as Kafka would. */
import type { RecordInput } from '../../lib/codec/encode.ts';
import { Random } from '../../local/generator/random.ts';
import { partitionIdOf } from '../../lib/codec/partition-id.ts';

/** A seeded source of floats in [0, 1). */
export function rng(seed: number): () => number {
  const random = new Random(seed);
  return () => random.float();
}

export const T0 = Date.parse('2026-11-23T10:00:00Z');

/** Mixed traffic over three topics; registrations hash IPs over partitions randomly (case d). */
export function mixedRecords(n: number, seed = 1): RecordInput[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const nextOffset = new Map<string, number>();
  const out: RecordInput[] = [];
  const actions = ['login', 'payment', 'view', 'logout'] as const;
  for (let i = 0; i < n; i++) {
    const t = T0 + Math.floor(r() * 2 * 3_600_000);
    const kind = r();
    let topic: string;
    let partitions: number;
    let value: Record<string, unknown>;
    if (kind < 0.55) {
      topic = 'user_events';
      partitions = 4;
      const user = Math.floor(r() * 40);
      const spelled = r() < 0.5;
      value = {
        user_id: r() < 0.5 ? user : String(user),
        [spelled ? 'action' : 'event_type']: pick(actions),
        amount: Math.round(r() * 50000) / 100,
        device_id: `dev-${Math.floor(r() * 5)}`,
        location_city: pick(['Berlin', 'Paris', 'Lagos', 'Lima']),
        [spelled ? 'timestamp' : 'event_time']: r() < 0.5 ? t : new Date(t).toISOString(),
      };
    } else if (kind < 0.8) {
      topic = 'user_registrations';
      partitions = 3;
      value = { user_id: `u${i}`, ip: `10.0.0.${Math.floor(r() * 12)}`, device_id: `d${i % 7}`, event_time: new Date(t).toISOString() };
    } else {
      topic = 'iot_telemetry';
      partitions = 2;
      value = {
        device_id: `sensor-${Math.floor(r() * 6)}`,
        temperature: Math.round((r() * 180 - 60) * 10) / 10,
        humidity: Math.round((r() * 120 - 10) * 10) / 10,
        timestamp: new Date(t).toISOString(),
      };
    }
    // Not keyed by the window key: one key's events land on several partitions.
    const partition = Math.floor(r() * partitions);
    const id = partitionIdOf(topic, partition);
    const offset = nextOffset.get(id) ?? 0;
    nextOffset.set(id, offset + 1);
    out.push({ topic, partition, offset, value, key: r() < 0.2 ? null : `k${i}`, headers: r() < 0.3 ? { source: 'test' } : undefined, timestamp: t });
  }
  return out;
}

/** Cuts each partition's records into consecutive batches of random sizes, then interleaves partitions. */
export function recut(records: RecordInput[], seed: number, maxBatch: number): RecordInput[][] {
  const r = rng(seed);
  const byPartition = new Map<string, RecordInput[]>();
  for (const rec of records) {
    const id = partitionIdOf(rec.topic, rec.partition);
    if (!byPartition.has(id)) byPartition.set(id, []);
    byPartition.get(id)!.push(rec);
  }
  const queues = [...byPartition.values()].map((q) => [...q].sort((a, b) => a.offset - b.offset));
  const batches: RecordInput[][] = [];
  while (queues.some((q) => q.length > 0)) {
    const batch: RecordInput[] = [];
    // A batch may hold several partitions, each a contiguous run, as the event source mapping sends.
    for (const q of queues) {
      if (q.length === 0 || r() < 0.4) continue;
      batch.push(...q.splice(0, 1 + Math.floor(r() * maxBatch)));
    }
    if (batch.length) batches.push(batch);
  }
  return batches;
}
