/** AlertStore and AlertSink in memory: one record per alert id, set-aside windows, emissions kept. */
import type { Alert, AlertSink, AlertStore, EarlyAlert, SequenceAlert, SetAsideWindow } from '../../closer/ports.ts';
import type { MemoryTables } from './memory-tables.ts';

export class MemoryAlertStore implements AlertStore {
  constructor(private readonly tables: MemoryTables) {}

  async putAlert(alert: Alert): Promise<boolean> {
    const existing = this.tables.alerts.get(alert.id);
    if (existing) {
      // Another window of the alert's group recorded it: its own window's close completes it.
      if (existing.windowStart !== alert.windowStart) return false;
      // As the DynamoDB adapter: a level the early record lacked comes from the close.
      if (existing.level === undefined && alert.level !== undefined) existing.level = alert.level;
      if (existing.finalFeatures !== undefined) return false;
      existing.finalFeatures = structuredClone(alert.features);
      existing.closedAt = alert.raisedAt;
      return true;
    }
    this.tables.alerts.set(alert.id, { ...structuredClone(alert), timing: 'close', finalFeatures: structuredClone(alert.features), closedAt: alert.raisedAt });
    return true;
  }

  async putEarlyAlert(alert: EarlyAlert): Promise<boolean> {
    if (this.tables.alerts.has(alert.id)) return false;
    this.tables.alerts.set(alert.id, structuredClone(alert));
    return true;
  }

  async putSequenceAlert(alert: SequenceAlert): Promise<boolean> {
    return this.putEarlyAlert(alert);
  }

  async putSetAside(record: SetAsideWindow): Promise<void> {
    this.tables.setAside.set(`${record.pipeline}#${record.key}#${record.windowStart}`, { ...record });
  }
}

/** Keeps every emitted alert, redeliveries included, in the order emitted. */
export class RecordingAlertSink implements AlertSink {
  readonly emitted: Alert[] = [];

  async emit(alerts: Alert[]): Promise<void> {
    this.emitted.push(...alerts.map((a) => structuredClone(a)));
  }
}
