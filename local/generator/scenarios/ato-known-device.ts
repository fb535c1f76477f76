/**
 * Near miss "ato_known_device": a login from a device the user used earlier in the stream (within
 * the rule's 30 days), then a payment above the rule's amount within 10 minutes.
 */
import { defineScenario } from './spec.ts';
import { fitsSpan, leastWithHistory, NEW_DEVICE_PAYMENT, Session } from './new-device-payment.ts';

const kind = 'ato_known_device';

export const atoKnownDevice = defineScenario({
  kind,
  rule: NEW_DEVICE_PAYMENT.id,
  fits: (ctx) => fitsSpan(ctx, leastWithHistory(ctx, 2_000)),
  plan(ctx, n) {
    const s = new Session(ctx, leastWithHistory(ctx, 2_000));
    const history = s.history();
    // The second device appears in the history, on the login's partition, before the login.
    const second = history.at(-1)!.at + 1_000 + s.extra(60_000);
    const login = second + s.loginGap + s.extra(60_000);
    const payment = login + 1_000 + s.extra(5 * 60_000);
    const amount = s.bigAmount();
    const events = [
      ...history,
      { action: 'view', at: second, device: s.fresh, on: 'home' as const },
      { action: 'login', at: login, device: s.fresh, on: 'home' as const },
      { action: 'payment', at: payment, device: s.fresh, on: 'other' as const, amount },
    ];
    return s.plan(kind, 900_440_000 + n, events, { first: login, last: payment }, {
      detail: `${s.fresh} used ${Math.round((login - second) / 1000)} s before a login from it, then a payment of ${amount}`,
      expectAlert: false,
    });
  },
});
