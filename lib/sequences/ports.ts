/** What the sequence stage needs from storage: one item per (topic, key field, key). */
import type { KeyState } from './state.ts';

export interface SequenceStateKey {
  topic: string;
  keyField: string;
  key: string;
}

/** A key's state as stored, with the version its next write must be conditional on. */
export interface StoredSequenceState {
  state: KeyState;
  /** Bumped by every write; 0 when the key has no item. */
  version: number;
}

export interface SequenceStateStore {
  /**
   * The key's state, strongly consistent; version 0 and an empty state when there is none.
   * @throws TransientStoreError when storage refuses for now.
   */
  read(key: SequenceStateKey): Promise<StoredSequenceState>;
  /**
   * Writes the state if the stored version is still `expected` (0: no item), as version
   * `expected + 1`, to expire at `expiresAt` (epoch ms).
   * @returns false when another writer got there first (read again and retry).
   * @throws TransientStoreError when storage refuses for now; RejectedWriteError for good.
   */
  write(key: SequenceStateKey, state: KeyState, expected: number, expiresAt: number): Promise<boolean>;
}
