/** Alert grouping (lib/closer/alert-group.ts): aligned cooldown spans, tumbling ids unchanged. */
import { describe, expect, it } from 'vitest';
import { groupAlertId, groupStartOf } from '../../lib/closer/alert-group.ts';
import { alertId } from '../../lib/closer/alert-id.ts';
import { payments, registrationsPerIp } from '../../lib/pipelines/builtin.ts';

const MIN = 60_000;
const T = Date.parse('2026-11-23T10:00:00Z');

describe('alert groups', () => {
  it("name a tumbling window's alert as before groups existed", () => {
    for (const start of [T, T + 5 * MIN, 0, -5 * MIN]) {
      expect(groupStartOf({}, payments, start)).toBe(start);
      expect(groupAlertId(payments, 'u1', start, { id: 'payments-spree' })).toBe(alertId('payments', 'u1', start, 'payments-spree'));
    }
  });

  it('put overlapping hopping windows in aligned spans of the window size by default, or of the cooldown', () => {
    // registrations: 10 minutes every minute. Windows starting 10:00 to 10:09 share a group; 10:10 starts the next.
    for (let m = 0; m < 10; m++) expect(groupStartOf({}, registrationsPerIp, T + m * MIN)).toBe(T);
    expect(groupStartOf({}, registrationsPerIp, T + 10 * MIN)).toBe(T + 10 * MIN);
    expect(groupStartOf({}, registrationsPerIp, T - MIN)).toBe(T - 10 * MIN);
    expect(groupStartOf({ cooldown: 30 * MIN }, registrationsPerIp, T + 29 * MIN)).toBe(T);
    expect(groupStartOf({ cooldown: MIN }, registrationsPerIp, T + 7 * MIN)).toBe(T + 7 * MIN);
    // Before the epoch, aligned down as well.
    expect(groupStartOf({}, registrationsPerIp, -MIN)).toBe(-10 * MIN);
    expect(groupStartOf({}, registrationsPerIp, 0)).toBe(0);
    const rule = { id: 'registrations-suspicious-ip' };
    expect(groupAlertId(registrationsPerIp, 'ip', T + 3 * MIN, rule)).toBe(groupAlertId(registrationsPerIp, 'ip', T + 9 * MIN, rule));
    expect(groupAlertId(registrationsPerIp, 'ip', T + 3 * MIN, rule)).not.toBe(groupAlertId(registrationsPerIp, 'ip', T + 10 * MIN, rule));
  });
});
