/** Near miss "ato_first_device": a user's first device ever: a login with no earlier activity, then a payment above the rule's amount within 10 minutes. */
import { defineScenario } from './spec.ts';
import { fitsSpan, NEW_DEVICE_PAYMENT, Session } from './new-device-payment.ts';

const kind = 'ato_first_device';
const LEAST_MS = 1_000;

export const atoFirstDevice = defineScenario({
  kind,
  rule: NEW_DEVICE_PAYMENT.id,
  fits: (ctx) => fitsSpan(ctx, LEAST_MS),
  plan(ctx, n) {
    const s = new Session(ctx, LEAST_MS);
    const payment = LEAST_MS + s.extra(5 * 60_000);
    const amount = s.bigAmount();
    const events = [
      { action: 'login', at: 0, device: s.fresh, on: 'home' as const },
      { action: 'payment', at: payment, device: s.fresh, on: 'other' as const, amount },
    ];
    return s.plan(kind, 900_450_000 + n, events, { first: 0, last: payment }, {
      detail: `first event a login from ${s.fresh}, then a payment of ${amount} ${Math.round(payment / 1000)} s later`,
      expectAlert: false,
    });
  },
});
