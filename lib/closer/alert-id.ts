import { createHash } from 'node:crypto';

/** Deterministic alert id: the same (pipeline, key, window, rule) always names the same alert. */
export function alertId(pipeline: string, key: string, windowStart: number, ruleId: string): string {
  const digest = createHash('sha256').update(JSON.stringify([pipeline, key, windowStart, ruleId])).digest('hex');
  return `${pipeline}-${windowStart}-${digest.slice(0, 24)}`;
}
