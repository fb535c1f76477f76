/**
 * A sequence match as an alert record (SEQ-SEMANTICS, "Alert record"): one per (rule, key,
 * completing event), whatever the redeliveries, so its id depends on nothing else.
 */
import { createHash } from 'node:crypto';
import type { SequenceAlert } from '../closer/ports.ts';
import { partitionIdOf } from '../codec/partition-id.ts';
import type { SequenceMatch } from './matcher.ts';

/** `seq-<first 24 hex of sha256(JSON.stringify([ruleId, key, topic, partition, offset]))>` of the completing event. */
export function sequenceAlertId(ruleId: string, key: string, topic: string, partition: number, offset: number): string {
  return `seq-${createHash('sha256').update(JSON.stringify([ruleId, key, topic, partition, offset])).digest('hex').slice(0, 24)}`;
}

/** The alert record of a match, fired at `now`. */
export function sequenceAlertOf(match: SequenceMatch, topic: string, key: string, now: number): SequenceAlert {
  const { rule, chain } = match;
  const last = chain[chain.length - 1]!;
  return {
    id: sequenceAlertId(rule.id, key, topic, last.p, last.o),
    pipeline: 'sequence',
    rule: rule.id,
    alertType: rule.alertType,
    level: rule.level,
    key,
    topic,
    windowStart: chain[0]!.t,
    windowEnd: last.t,
    features: {},
    raisedAt: now,
    timing: 'early',
    firedAt: now,
    firedBy: { partitionId: partitionIdOf(topic, last.p), offset: last.o },
    matched: chain.map((p, i) => ({ step: rule.steps[i]!.name, partition: p.p, offset: p.o, eventTime: p.t })),
  };
}
