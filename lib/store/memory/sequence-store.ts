/** SequenceStateStore in memory: the same version contract as the DynamoDB adapter. */
import type { SequenceStateKey, SequenceStateStore, StoredSequenceState } from '../../sequences/ports.ts';
import { emptyKeyState, type KeyState } from '../../sequences/state.ts';
import { sequencePk } from '../tables.ts';

export class MemorySequenceStore implements SequenceStateStore {
  readonly items = new Map<string, { state: KeyState; version: number; expiresAt: number }>();
  /** Writes taken (for tests and the bench). */
  writes = 0;

  async read(key: SequenceStateKey): Promise<StoredSequenceState> {
    const item = this.items.get(sequencePk(key));
    return item ? { state: structuredClone(item.state), version: item.version } : { state: emptyKeyState(), version: 0 };
  }

  async write(key: SequenceStateKey, state: KeyState, expected: number, expiresAt: number): Promise<boolean> {
    const pk = sequencePk(key);
    if ((this.items.get(pk)?.version ?? 0) !== expected) return false;
    this.items.set(pk, { state: structuredClone(state), version: expected + 1, expiresAt });
    this.writes++;
    return true;
  }
}
