/** Near miss "ato_payment_before_login": a payment above the rule's amount, then (within 10 minutes) a login from a new device: the wrong order. */
import { defineScenario } from './spec.ts';
import { fitsSpan, leastWithHistory, NEW_DEVICE_PAYMENT, Session } from './new-device-payment.ts';

const kind = 'ato_payment_before_login';

export const atoPaymentBeforeLogin = defineScenario({
  kind,
  rule: NEW_DEVICE_PAYMENT.id,
  fits: (ctx) => fitsSpan(ctx, leastWithHistory(ctx, 0)),
  plan(ctx, n) {
    const s = new Session(ctx, leastWithHistory(ctx, 0));
    const history = s.history();
    const end = history.at(-1)!.at;
    // The payment after the history, the login at least the jitter after the history (its
    // partition) and at least a second after the payment.
    const payment = end + 1_000 + s.extra(30_000);
    const login = Math.max(end + s.loginGap, payment + 1_000) + s.extra(4 * 60_000);
    const amount = s.bigAmount();
    const events = [
      ...history,
      { action: 'payment', at: payment, device: s.known, on: 'other' as const, amount },
      { action: 'login', at: login, device: s.fresh, on: 'home' as const },
    ];
    return s.plan(kind, 900_430_000 + n, events, { first: payment, last: login }, {
      detail: `payment of ${amount}, then ${Math.round((login - payment) / 1000)} s later a login from new ${s.fresh}`,
      expectAlert: false,
    });
  },
});
