/** In-memory adapters of every store port, sharing one set of tables (see memory-tables.ts). */
import { MemoryAlertStore, RecordingAlertSink } from './alert-store.ts';
import { MemoryCloserStore } from './closer-store.ts';
import { MemoryDuePageStore } from './due-page-store.ts';
import { MemoryTables } from './memory-tables.ts';
import { MemorySideOutputStore } from './side-output-store.ts';
import { MemoryWatermarkStore } from './watermark-store.ts';
import { MemoryWindowStore } from './window-store.ts';

export { MemoryAlertStore, MemoryCloserStore, MemoryDuePageStore, MemorySideOutputStore, MemoryTables, MemoryWatermarkStore, MemoryWindowStore, RecordingAlertSink };
export type { MemoryPartitionMark, MemoryWindowItem } from './memory-tables.ts';

/** Every store over one fresh set of tables, with one clock. */
export function memoryStores(options: { retentionMs?: number; now?: () => number } = {}) {
  const tables = new MemoryTables();
  const now = options.now ?? Date.now;
  return {
    tables,
    windows: new MemoryWindowStore(tables, { retentionMs: options.retentionMs ?? 7 * 86_400_000, now }),
    duePages: new MemoryDuePageStore(tables, { retentionMs: options.retentionMs ?? 7 * 86_400_000, now }),
    watermarks: new MemoryWatermarkStore(tables, now),
    sideOutput: new MemorySideOutputStore(tables),
    closer: new MemoryCloserStore(tables),
    alerts: new MemoryAlertStore(tables),
    sink: new RecordingAlertSink(),
  };
}
