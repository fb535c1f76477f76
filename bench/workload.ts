/**
 * Benchmark workloads: mixed events (55% user events, 20% registrations, 25% telemetry) with
 * uniform keys (the default workload), Zipf keys, or Zipf keys plus one hot IP (the skewed workload),
 * generated lazily so a million events never sit in memory at once, and cut into Lambda batches
 * the way an event source mapping cuts them: one topic per mapping, up to `size` records each.
 */
import type { RecordInput } from '../lib/codec/encode.ts';
import { Random, Zipf } from '../local/generator/random.ts';
import { partitionIdOf } from '../lib/codec/partition-id.ts';
import { IOT_TELEMETRY, USER_EVENTS, USER_REGISTRATIONS } from '../lib/pipelines/topics.ts';

export type KeyDistribution = 'uniform' | 'zipf' | 'skewed';

/** The two workloads every section reports: the default one and the skewed one. */
export const WORKLOADS = ['uniform', 'skewed'] as const satisfies readonly KeyDistribution[];

export const WORKLOAD_LABEL: Record<KeyDistribution, string> = {
  uniform: 'default (uniform keys)',
  zipf: 'Zipf keys (s = 1.1)',
  skewed: 'skewed (Zipf keys + one hot IP)',
};

export interface WorkloadOptions {
  events: number;
  distribution: KeyDistribution;
  seed?: number;
  /** Event-time span of the whole workload (default 10 minutes). */
  spanMs?: number;
  users?: number;
  ips?: number;
  devices?: number;
  partitions?: number;
  /** Skewed workload only: share of registrations from the one hot IP (default 0.3). */
  hotIpShare?: number;
}

export const HOT_IP = '203.0.113.66';
export const ZIPF_S = 1.1;
export const DEFAULT_HOT_IP_SHARE = 0.3;

/** The records of a workload, in production order, offsets counted per partition. */
export function* workloadRecords(o: WorkloadOptions): Generator<RecordInput> {
  const rng = new Random(o.seed ?? 7);
  const random = () => rng.float();
  const span = o.spanMs ?? 10 * 60_000;
  const start = Date.parse('2026-11-23T10:00:00Z');
  const skewedKeys = o.distribution !== 'uniform';
  const pickKey = (n: number) => {
    const zipf = skewedKeys ? new Zipf(n, ZIPF_S) : undefined;
    return zipf ? () => zipf.sample(rng) : () => Math.floor(random() * n);
  };
  const user = pickKey(o.users ?? 20_000);
  const ip = pickKey(o.ips ?? 5_000);
  const device = pickKey(o.devices ?? 2_000);
  const hotIpShare = o.distribution === 'skewed' ? (o.hotIpShare ?? DEFAULT_HOT_IP_SHARE) : 0;
  const partitions = o.partitions ?? 6;
  const offsets = new Map<string, number>();
  const actions = ['login', 'payment', 'view', 'logout', 'payment'];
  const cities = ['Berlin', 'Paris', 'Lagos', 'Lima'];
  for (let i = 0; i < o.events; i++) {
    const t = start + Math.floor((i / o.events) * span);
    const r = random();
    let topic: string;
    let value: Record<string, unknown>;
    if (r < 0.55) {
      topic = USER_EVENTS;
      const u = user();
      value = {
        user_id: u,
        action: actions[Math.floor(random() * actions.length)],
        amount: Math.round(random() * 20000) / 100,
        ip_address: `10.1.${u % 250}.${u % 7}`,
        device_id: `dev-${u}-${Math.floor(random() * 2)}`,
        location_city: cities[Math.floor(random() * cities.length)],
        timestamp: new Date(t).toISOString(),
      };
    } else if (r < 0.75) {
      topic = USER_REGISTRATIONS;
      const hot = hotIpShare > 0 && random() < hotIpShare;
      const k = hot ? -1 : ip();
      value = { user_id: `r${i}`, ip: hot ? HOT_IP : `172.16.${k >> 8}.${k & 255}`, device_id: `d${i % 97}`, event_time: t };
    } else {
      topic = IOT_TELEMETRY;
      value = { device_id: `sensor-${device()}`, temperature: Math.round((random() * 150 - 45) * 10) / 10, humidity: Math.round(random() * 1000) / 10, timestamp: t };
    }
    const partition = Math.floor(random() * partitions);
    const id = partitionIdOf(topic, partition);
    const offset = offsets.get(id) ?? 0;
    offsets.set(id, offset + 1);
    yield { topic, partition, offset, value, key: null, timestamp: t };
  }
}

/** The whole workload as one array (for sizes that fit in memory comfortably). */
export function workload(o: WorkloadOptions): RecordInput[] {
  return [...workloadRecords(o)];
}

/**
 * Cuts records into batches as one event source mapping per topic does: each batch holds records
 * of one topic only (of any of its partitions, each partition in offset order), at most `size`.
 * A topic's last batch may be short.
 */
export function* topicBatches(records: Iterable<RecordInput>, size: number): Generator<RecordInput[]> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a positive integer, got ${size}`);
  const open = new Map<string, RecordInput[]>();
  for (const r of records) {
    let batch = open.get(r.topic);
    if (!batch) open.set(r.topic, (batch = []));
    batch.push(r);
    if (batch.length === size) {
      open.delete(r.topic);
      yield batch;
    }
  }
  for (const batch of open.values()) if (batch.length > 0) yield batch;
}
