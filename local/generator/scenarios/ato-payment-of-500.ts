/** Near miss "ato_payment_of_500": the account-takeover pattern with a payment of exactly the rule's amount, which is not above it. */
import { defineScenario } from './spec.ts';
import { fitsSpan, leastWithHistory, NEW_DEVICE_PAYMENT, Session } from './new-device-payment.ts';

const kind = 'ato_payment_of_500';

export const atoPaymentOf500 = defineScenario({
  kind,
  rule: NEW_DEVICE_PAYMENT.id,
  fits: (ctx) => fitsSpan(ctx, leastWithHistory(ctx, 1_000)),
  plan(ctx, n) {
    const s = new Session(ctx, leastWithHistory(ctx, 1_000));
    const history = s.history();
    const login = history.at(-1)!.at + s.loginGap + s.extra(60_000);
    const payment = login + 1_000 + s.extra(5 * 60_000);
    const events = [
      ...history,
      { action: 'login', at: login, device: s.fresh, on: 'home' as const },
      { action: 'payment', at: payment, device: s.fresh, on: 'other' as const, amount: NEW_DEVICE_PAYMENT.amountAbove },
    ];
    return s.plan(kind, 900_420_000 + n, events, { first: login, last: payment }, {
      detail: `login from new ${s.fresh}, payment of exactly ${NEW_DEVICE_PAYMENT.amountAbove} ${Math.round((payment - login) / 1000)} s later`,
      expectAlert: false,
    });
  },
});
