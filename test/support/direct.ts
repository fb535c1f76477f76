/**
 * A direct computation of every pipeline's windows from raw event objects, written plainly and
 * independently of lib/ (no planBatch, no fold): what the stored counters must equal.
 */
type Raw = Record<string, unknown>;
export type Expected = Map<string, Record<string, number | string[] | null>>;

const MIN = 60_000;
const time = (e: Raw): number => {
  const t = e.timestamp ?? e.event_time;
  return typeof t === 'number' || /^\d+$/.test(String(t)) ? Number(t) : Date.parse(String(t));
};
const start = (t: number, size: number) => Math.floor(t / size) * size;

export const windowId = (pipeline: string, key: string, windowStart: number) => `${pipeline}|${key}|${windowStart}`;

export function directComputation(events: { topic: string; value: Raw }[]): Expected {
  const acc = new Map<string, Record<string, any>>();
  const get = (id: string, init: () => Record<string, any>) => {
    let w = acc.get(id);
    if (!w) acc.set(id, (w = init()));
    return w;
  };
  for (const { topic, value: e } of events) {
    const t = time(e);
    if (topic === 'user_events') {
      const user = String(e.user_id);
      const action = String(e.action ?? e.event_type);
      if (action === 'payment') {
        const w = get(windowId('payments', user, start(t, 5 * MIN)), () => ({ count: 0, amount: 0 }));
        w.count++;
        w.amount += Number(e.amount ?? 0);
      }
      const r = get(windowId('risk', user, start(t, 60 * MIN)), () => ({ events: 0, devices: new Set(), cities: new Set(), logins: 0 }));
      r.events++;
      if (e.device_id !== undefined) r.devices.add(String(e.device_id));
      const city = e.location_city ?? e.city;
      if (city !== undefined) r.cities.add(String(city));
      if (action === 'login') r.logins++;
    } else if (topic === 'user_registrations') {
      const ip = String(e.ip ?? e.ip_address);
      const w = get(windowId('registrations', ip, start(t, 10 * MIN)), () => ({ registrations: 0, users: new Set() }));
      w.registrations++;
      w.users.add(String(e.user_id));
    } else if (topic === 'iot_telemetry') {
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
