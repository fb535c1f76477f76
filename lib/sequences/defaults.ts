/** The sequence rules streamguard ships with (docs/design.md, "Sequence rules"). */
import type { SequenceRule } from './rule.ts';

/**
 * Account takeover: a login from a device the user has not used in 30 days (for a user who used
 * at least one device in those 30 days), then a payment above 500 within 10 minutes.
 */
export const defaultSequenceRules: readonly SequenceRule[] = Object.freeze([
  Object.freeze({
    id: 'new-device-payment',
    kind: 'sequence',
    topic: 'user_events',
    key: 'userId',
    steps: [
      {
        name: 'login',
        condition: "e.action == 'login' && has(e.deviceId) && !seen('deviceId', duration('720h')) && seenAny('deviceId', duration('720h'))",
      },
      { name: 'payment', condition: "e.action == 'payment' && has(e.amount) && e.amount > 500" },
    ],
    within: '10m',
    withinMs: 600_000,
    alertType: 'account_takeover',
    level: 'HIGH',
    enabled: true,
    description: 'A login from a device the user has not used in 30 days (but who used another), then a payment above 500 within 10 minutes',
    version: 0,
    updatedAt: 0,
  } satisfies SequenceRule),
]);
