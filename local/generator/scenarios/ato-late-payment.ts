/** Near miss "ato_late_payment": the account-takeover pattern with the payment past the rule's 10 minutes (by 1 ms to 2 min). */
import { defineScenario } from './spec.ts';
import { fitsSpan, leastWithHistory, NEW_DEVICE_PAYMENT, Session } from './new-device-payment.ts';

const kind = 'ato_late_payment';
const least = (after: number) => after + NEW_DEVICE_PAYMENT.withinMs + 1;

export const atoLatePayment = defineScenario({
  kind,
  rule: NEW_DEVICE_PAYMENT.id,
  fits: (ctx) => fitsSpan(ctx, leastWithHistory(ctx, least(0))),
  plan(ctx, n) {
    const s = new Session(ctx, leastWithHistory(ctx, least(0)));
    const history = s.history();
    const login = history.at(-1)!.at + s.loginGap + s.extra(60_000);
    const payment = login + least(s.extra(120_000));
    const amount = s.bigAmount();
    const events = [
      ...history,
      { action: 'login', at: login, device: s.fresh, on: 'home' as const },
      { action: 'payment', at: payment, device: s.fresh, on: 'other' as const, amount },
    ];
    return s.plan(kind, 900_410_000 + n, events, { first: login, last: payment }, {
      detail: `login from new ${s.fresh}, payment of ${amount} ${payment - login} ms later (past ${NEW_DEVICE_PAYMENT.withinMs} ms)`,
      expectAlert: false,
    });
  },
});
