/** SequenceStateStore in memory: the same version contract as the DynamoDB adapter. */
import { MAX_READ_MANY, type SequenceStateKey, type SequenceStateStore, type StoredSequenceState } from '../../sequences/ports.ts';
import { emptyKeyState, type KeyState } from '../../sequences/state.ts';
import { sequencePk } from '../tables.ts';

export class MemorySequenceStore implements SequenceStateStore {
  readonly items = new Map<string, { state: KeyState; version: number; expiresAt: number }>();
  /** Writes taken (for tests and the bench). */
  writes = 0;
  /** readMany calls taken (for tests). */
  readManyCalls = 0;

  async read(key: SequenceStateKey): Promise<StoredSequenceState> {
    const item = this.items.get(sequencePk(key));
    return item ? { state: structuredClone(item.state), version: item.version } : { state: emptyKeyState(), version: 0 };
  }

  async readMany(keys: readonly SequenceStateKey[]): Promise<StoredSequenceState[]> {
    if (keys.length > MAX_READ_MANY) throw new RangeError(`sequence state: readMany takes at most ${MAX_READ_MANY} keys, got ${keys.length}`);
    this.readManyCalls++;
    return Promise.all(keys.map((key) => this.read(key)));
  }

  async write(key: SequenceStateKey, state: KeyState, expected: number, expiresAt: number): Promise<boolean> {
    const pk = sequencePk(key);
    if ((this.items.get(pk)?.version ?? 0) !== expected) return false;
    this.items.set(pk, { state: structuredClone(state), version: expected + 1, expiresAt });
    this.writes++;
    return true;
  }
}
