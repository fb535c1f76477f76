/**
 * The default sequence rules as the reference restates them (lib/rules/defaults.ts, issue 15), and
 * the alert id the engine must give a match. Kept apart from reference.ts (no DuckDB here) so the
 * pure comparison (../compare.ts) can read them.
 */
import { createHash } from 'node:crypto';
import { WITHIN_MS } from './sql/sequences.ts';
import type { RecordCoordinates, ReferenceSequenceRule } from './types.ts';

/** The default sequence rules: the steps and within of ./sql/sequences.ts, which computes them. */
export const SEQUENCE_RULES: readonly ReferenceSequenceRule[] = [
  { id: 'new-device-payment', topic: 'user_events', steps: ['login', 'payment'], withinMs: WITHIN_MS, alertType: 'account_takeover', level: 'HIGH' },
];

/**
 * The id a sequence alert must have (SEQ-SEMANTICS, "Alert record"): "seq-" and the first 24 hex
 * digits of the sha256 of the JSON array [rule id, key, topic, partition, offset] of the
 * completing event.
 */
export function sequenceAlertId(ruleId: string, key: string, completing: RecordCoordinates): string {
  const digest = createHash('sha256').update(JSON.stringify([ruleId, key, completing.topic, completing.partition, completing.offset])).digest('hex');
  return `seq-${digest.slice(0, 24)}`;
}
