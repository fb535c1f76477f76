/**
 * A direct computation of every pipeline's windows from raw event objects, written plainly and
 * independently of lib/ (no planBatch, no fold): what the stored counters must equal.
 */
type Raw = Record<string, unknown>;
/** Features per window id; a distinct feature past its cap reads back as a count with a sample. */
export type Expected = Map<string, Record<string, number | string[] | null | { count: number; approximate: boolean; sample: string[] }>>;

const MIN = 60_000;
const time = (e: Raw): number => {
  const t = e.timestamp ?? e.event_time;
  return typeof t === 'number' || /^\d+$/.test(String(t)) ? Number(t) : Date.parse(String(t));
};
const start = (t: number, size: number) => Math.floor(t / size) * size;

export const windowId = (pipeline: string, key: string, windowStart: number) => `${pipeline}|${key}|${windowStart}`;

/**
 * With `delayMs`, events are late as the engine promises: an event whose window ends at or before
 * (greatest event time of the earlier events of its topic-partition) - delay is left out. Events
 * must then carry their partition and come in offset order.
 */
export function directComputation(events: { topic: string; value: Raw; partition?: number }[], options: { delayMs?: number } = {}): Expected {
  const acc = new Map<string, Record<string, any>>();
  const seenMax = new Map<string, number>();
  let watermark = -Infinity;
  const get = (id: string, init: () => Record<string, any>) => {
    let w = acc.get(id);
    if (!w) acc.set(id, (w = init()));
    return w;
  };
  const onTime = (t: number, size: number) => start(t, size) + size > watermark;
  for (const { topic, value: e, partition } of events) {
    const t = time(e);
    if (options.delayMs !== undefined) {
      if (partition === undefined) throw new Error('directComputation with a delay needs each event\'s partition');
      const id = `${topic}-${partition}`;
      const max = seenMax.get(id) ?? -Infinity;
      watermark = max - options.delayMs;
      seenMax.set(id, Math.max(max, t));
    }
    if (topic === 'user_events') {
      const user = String(e.user_id);
      const action = String(e.action ?? e.event_type);
      if (action === 'payment' && onTime(t, 5 * MIN)) {
        const w = get(windowId('payments', user, start(t, 5 * MIN)), () => ({ count: 0, amount: 0 }));
        w.count++;
        w.amount += Number(e.amount ?? 0);
      }
      if (onTime(t, 60 * MIN)) {
        const r = get(windowId('risk', user, start(t, 60 * MIN)), () => ({ events: 0, devices: new Set(), cities: new Set(), logins: 0 }));
        r.events++;
        if (e.device_id !== undefined) r.devices.add(String(e.device_id));
        const city = e.location_city ?? e.city;
        if (city !== undefined) r.cities.add(String(city));
        if (action === 'login') r.logins++;
      }
    } else if (topic === 'user_registrations') {
      // Hopping 10 minutes every minute, stored as one-minute buckets: what the table holds per event.
      if (!onTime(t, MIN)) continue;
      const ip = String(e.ip ?? e.ip_address);
      const w = get(windowId('registrations', ip, start(t, MIN)), () => ({ registrations: 0, users: new Set() }));
      w.registrations++;
      w.users.add(String(e.user_id));
    } else if (topic === 'iot_telemetry') {
      if (!onTime(t, MIN)) continue;
      const temp = Number(e.temperature);
      const hum = Number(e.humidity);
      const w = get(windowId('iot', String(e.device_id), start(t, MIN)), () => ({ count: 0, rejected: 0, temps: [] as number[], hums: [] as number[] }));
      if (temp >= -40 && temp <= 100 && hum >= 0 && hum <= 100) {
        w.count++;
        w.temps.push(temp);
        w.hums.push(hum);
      } else {
        w.rejected++;
      }
    }
  }
  const out: Expected = new Map();
  const sorted = (s: Set<string>) => [...s].sort();
  const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  for (const [id, w] of acc) {
    const pipeline = id.split('|')[0];
    if (pipeline === 'risk') out.set(id, { ...w, devices: sorted(w.devices), cities: sorted(w.cities) });
    else if (pipeline === 'registrations') out.set(id, { ...w, users: sorted(w.users) });
    else if (pipeline === 'iot') {
      out.set(id, {
        count: w.count,
        rejected: w.rejected,
        temperatureMin: w.temps.length ? Math.min(...w.temps) : null,
        temperatureMax: w.temps.length ? Math.max(...w.temps) : null,
        temperatureAvg: avg(w.temps),
        humidityMin: w.hums.length ? Math.min(...w.hums) : null,
        humidityMax: w.hums.length ? Math.max(...w.hums) : null,
        humidityAvg: avg(w.hums),
      });
    } else out.set(id, w);
  }
  return out;
}
