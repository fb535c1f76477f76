/** SideOutputStore in memory: one entry per (kind, coordinates, pipeline), as the table keeps them. */
import type { SideRecord } from '../../ingest/quarantine.ts';
import type { SideOutputStore } from '../ports.ts';
import type { MemoryTables } from './memory-tables.ts';
import { partitionIdOf } from '../../codec/partition-id.ts';

export const sideOutputId = (r: Pick<SideRecord, 'kind' | 'topic' | 'partition' | 'offset' | 'pipeline'>): string =>
  `${r.kind}#${partitionIdOf(r.topic, r.partition)}#${r.offset}#${r.pipeline ?? ''}`;

export class MemorySideOutputStore implements SideOutputStore {
  constructor(private readonly tables: MemoryTables) {}

  async put(records: SideRecord[]): Promise<void> {
    for (const r of records) this.tables.sideOutput.set(sideOutputId(r), { ...r });
  }
}
