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

/** Keys one {@link SequenceStateStore.readMany} call takes at most (DynamoDB BatchGetItem's limit). */
export const MAX_READ_MANY = 100;

export interface SequenceStateStore {
  /**
   * The key's state, strongly consistent; version 0 and an empty state when there is none.
   * @throws TransientStoreError when storage refuses for now.
   */
  read(key: SequenceStateKey): Promise<StoredSequenceState>;
  /**
   * Several keys' states at once, strongly consistent, each as {@link read} gives it, in the order
   * of `keys` (a key named twice is read once and answered twice).
   * @throws RangeError for more than {@link MAX_READ_MANY} keys; TransientStoreError when storage
   *   refuses for now, or leaves some keys unread after its bounded retries.
   */
  readMany(keys: readonly SequenceStateKey[]): Promise<StoredSequenceState[]>;
  /**
   * Writes the state if the stored version is still `expected` (0: no item), as version
   * `expected + 1`, to expire at `expiresAt` (epoch ms).
   * @returns false when another writer got there first (read again and retry).
   * @throws TransientStoreError when storage refuses for now; RejectedWriteError for good.
   */
  write(key: SequenceStateKey, state: KeyState, expected: number, expiresAt: number): Promise<boolean>;
}
