/** Benchmark workloads: one large batch of mixed events with uniform or Zipf-distributed keys. */
import type { RecordInput } from '../lib/codec/encode.ts';
import { Random, Zipf } from '../local/generator/random.ts';

export type KeyDistribution = 'uniform' | 'zipf';

export interface WorkloadOptions {
  events: number;
  distribution: KeyDistribution;
  seed?: number;
  /** Event-time span of the batch. */
  spanMs?: number;
  users?: number;
  ips?: number;
  devices?: number;
  partitions?: number;
}

/** Mixed traffic (55% user events, 20% registrations, 25% telemetry) as one batch, offsets per partition. */
export function workload(o: WorkloadOptions): RecordInput[] {
  const rng = new Random(o.seed ?? 7);
  const random = () => rng.float();
  const span = o.spanMs ?? 10 * 60_000;
  const start = Date.parse('2026-11-23T10:00:00Z');
  const pickKey = (n: number) => {
    const zipf = o.distribution === 'zipf' ? new Zipf(n, 1.1) : undefined;
    return zipf ? () => zipf.sample(rng) : () => Math.floor(random() * n);
  };
  const user = pickKey(o.users ?? 20_000);
  const ip = pickKey(o.ips ?? 5_000);
  const device = pickKey(o.devices ?? 2_000);
  const partitions = o.partitions ?? 6;
  const offsets = new Map<string, number>();
  const actions = ['login', 'payment', 'view', 'logout', 'payment'];
  const out: RecordInput[] = [];
  for (let i = 0; i < o.events; i++) {
    const t = start + Math.floor((i / o.events) * span);
    const r = random();
    let topic: string;
    let value: Record<string, unknown>;
    if (r < 0.55) {
      topic = 'user_events';
      const u = user();
      value = {
        user_id: u,
        action: actions[Math.floor(random() * actions.length)],
        amount: Math.round(random() * 20000) / 100,
        ip_address: `10.1.${u % 250}.${u % 7}`,
        device_id: `dev-${u}-${Math.floor(random() * 2)}`,
        location_city: ['Berlin', 'Paris', 'Lagos', 'Lima'][Math.floor(random() * 4)],
        timestamp: new Date(t).toISOString(),
      };
    } else if (r < 0.75) {
      topic = 'user_registrations';
      const k = ip();
      value = { user_id: `r${i}`, ip: `172.16.${k >> 8}.${k & 255}`, device_id: `d${i % 97}`, event_time: t };
    } else {
      topic = 'iot_telemetry';
      value = { device_id: `sensor-${device()}`, temperature: Math.round((random() * 150 - 45) * 10) / 10, humidity: Math.round(random() * 1000) / 10, timestamp: t };
    }
    const partition = Math.floor(random() * partitions);
    const id = `${topic}-${partition}`;
    const offset = offsets.get(id) ?? 0;
    offsets.set(id, offset + 1);
    out.push({ topic, partition, offset, value, key: null, timestamp: t });
  }
  return out;
}
