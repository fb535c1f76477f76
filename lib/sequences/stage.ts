/**
 * The sequence stage of ingest (docs/design.md, "Sequence rules"): per key of a batch, read its
 * state, run the matcher, record each match as an alert, then write the state back conditional
 * on the version read.
 *
 * - Alerts before state: a crash between the two leaves the state as it was, so the redelivered
 *   events match again and the alert put (same id) is refused. The reverse order could lose an
 *   alert.
 * - A lost race (another invocation wrote the key since the read: a key fed by two partitions)
 *   reads again and retries, up to MAX_ROUNDS; then TransientStoreError, so the key's partitions
 *   resume at its first offsets and the redelivery is skipped where it was applied.
 * - Redelivered events are skipped by the state's per-partition offset marks, so an applied
 *   redelivery writes nothing.
 */
import type { SequenceAlert } from '../closer/ports.ts';
import { isTransient, TransientStoreError } from '../store/errors.ts';
import { sequenceAlertOf } from './alert.ts';
import type { SequenceGroup } from './compile.ts';
import { expiresAt, matchSequences, type SequenceInput } from './matcher.ts';
import type { SequenceStateStore } from './ports.ts';

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

/**
 * Applies one key's events exactly once.
 * @throws TransientStoreError when storage refuses for now or the races do not settle; the
 *   caller resumes the key's partitions at their first offset in `batch.inputs`.
 */
export async function applySequenceKey(batch: SequenceKeyBatch, deps: SequenceStageDeps): Promise<SequenceKeyOutcome> {
  const { group, key, inputs } = batch;
  const stateKey = { topic: group.topic, keyField: group.keyField, key };
  const outcome: SequenceKeyOutcome = { alerts: 0, matches: 0, writes: 0, conflicts: 0 };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const stored = await deps.states.read(stateKey);
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
