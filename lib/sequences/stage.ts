/**
 * The sequence stage of ingest (docs/design.md, "Sequence rules"): the states of a batch's keys
 * are read together (one strongly consistent BatchGetItem per up to 100 keys, {@link readStates});
 * then per key the matcher runs on what was read, each match is recorded as an alert, and the
 * state is written back conditional on the version read.
 *
 * - Reading ahead changes nothing below: the version read is what the write is conditional on, so
 *   a state read early and written over since is only a lost race, found by the write.
 * - Alerts before state: a crash between the two leaves the state as it was, so the redelivered
 *   events match again and the alert put (same id) is refused. The reverse order could lose an
 *   alert.
 * - A lost race (another invocation wrote the key since the read: a key fed by two partitions)
 *   reads that key again on its own and retries, up to MAX_ROUNDS in all; then
 *   TransientStoreError, so the key's partitions resume at its first offsets and the redelivery
 *   is skipped where it was applied.
 * - Redelivered events are skipped by the state's per-partition offset marks, so an applied
 *   redelivery writes nothing.
 */
import type { SequenceAlert } from '../closer/ports.ts';
import { isTransient, TransientStoreError } from '../store/errors.ts';
import { sequenceAlertOf } from './alert.ts';
import type { SequenceGroup } from './compile.ts';
import { expiresAt, matchSequences, type SequenceInput } from './matcher.ts';
import { MAX_READ_MANY, type SequenceStateStore, type StoredSequenceState } from './ports.ts';

/** Compare-and-set rounds per key before the key's partitions are resumed. */
export const MAX_ROUNDS = 5;

export interface SequenceStageDeps {
  states: SequenceStateStore;
  alerts: { putSequenceAlert(alert: SequenceAlert): Promise<boolean> };
  now: () => number;
  delayMs: number;
}

/** One key's new events for one group of rules. */
export interface SequenceKeyBatch {
  group: SequenceGroup;
  key: string;
  inputs: SequenceInput[];
}

export interface SequenceKeyOutcome {
  /** Alert records this call created (refused duplicates not counted). */
  alerts: number;
  matches: number;
  /** State writes applied (0 when every event had been applied before). */
  writes: number;
  /** Compare-and-set rounds lost to another writer. */
  conflicts: number;
}

const stateKeyOf = ({ group, key }: SequenceKeyBatch) => ({ topic: group.topic, keyField: group.keyField, key });

/**
 * The batch's keys cut into chunks of at most {@link MAX_READ_MANY}, each with a promise of its
 * keys' states as stored (one `readMany` per chunk, all started at once: a batch of 500 records
 * has at most 5 chunks per group). A chunk whose read fails rejects with the read's error
 * (TransientStoreError when it passes); the caller resumes that chunk's keys.
 */
export function readStates(batches: readonly SequenceKeyBatch[], states: SequenceStateStore): { batches: SequenceKeyBatch[]; read: Promise<StoredSequenceState[]> }[] {
  const chunks: { batches: SequenceKeyBatch[]; read: Promise<StoredSequenceState[]> }[] = [];
  for (let i = 0; i < batches.length; i += MAX_READ_MANY) {
    const chunk = batches.slice(i, i + MAX_READ_MANY);
    const read = states.readMany(chunk.map(stateKeyOf));
    // Observed now, awaited later by each key: a rejection is never unhandled meanwhile.
    read.catch(() => {});
    chunks.push({ batches: chunk, read });
  }
  return chunks;
}

/**
 * Applies one key's events exactly once.
 * @param first The key's state as read ahead ({@link readStates}); read here when absent. Later
 *   rounds, after a lost race, read the key again on its own.
 * @throws TransientStoreError when storage refuses for now or the races do not settle; the
 *   caller resumes the key's partitions at their first offset in `batch.inputs`.
 */
export async function applySequenceKey(batch: SequenceKeyBatch, deps: SequenceStageDeps, first?: StoredSequenceState): Promise<SequenceKeyOutcome> {
  const { group, key, inputs } = batch;
  const stateKey = stateKeyOf(batch);
  const outcome: SequenceKeyOutcome = { alerts: 0, matches: 0, writes: 0, conflicts: 0 };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const stored = round === 0 && first !== undefined ? first : await deps.states.read(stateKey);
    const result = matchSequences(group, stored.state, inputs, { delayMs: deps.delayMs });
    if (!result.changed) return outcome;
    const now = deps.now();
    for (const match of result.matches) {
      try {
        if (await deps.alerts.putSequenceAlert(sequenceAlertOf(match, group.topic, key, now))) outcome.alerts++;
      } catch (err) {
        if (err instanceof TransientStoreError || isTransient(err)) throw new TransientStoreError(`sequence alert (rule ${match.rule.id}, key ${key}) not recorded yet: ${(err as Error).message}`, { cause: err });
        throw err;
      }
    }
    outcome.matches = result.matches.length;
    if (await deps.states.write(stateKey, result.state, stored.version, expiresAt(group, result.state, deps.delayMs, now))) {
      outcome.writes++;
      return outcome;
    }
    outcome.conflicts++;
  }
  throw new TransientStoreError(`sequence state of ${group.topic}/${group.keyField}/${key}: ${MAX_ROUNDS} writes lost to other writers; its partitions resume`);
}
