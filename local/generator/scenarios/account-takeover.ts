/**
 * Scenario "account_takeover": the pattern of the sequence rule new-device-payment. A user with
 * earlier activity on a known device logs in from a device never seen for them, then pays more
 * than 500 within the rule's 10 minutes, the payment on another partition than the login.
 */
import { defineScenario } from './spec.ts';
import { fitsSpan, leastWithHistory, NEW_DEVICE_PAYMENT, Session } from './new-device-payment.ts';

const kind = 'account_takeover';
/** Login to payment: at least a second, at most this much (well inside `within`). */
const MAX_DELAY_MS = 8 * 60_000;

export const accountTakeover = defineScenario({
  kind,
  rule: NEW_DEVICE_PAYMENT.id,
  fits: (ctx) => fitsSpan(ctx, leastWithHistory(ctx, 1_000)),
  plan(ctx, n) {
    const s = new Session(ctx, leastWithHistory(ctx, 1_000));
    const history = s.history();
    const login = history.at(-1)!.at + s.loginGap + s.extra(60_000);
    const payment = login + 1_000 + s.extra(MAX_DELAY_MS - 1_000);
    const amount = s.bigAmount();
    const events = [
      ...history,
      { action: 'login', at: login, device: s.fresh, on: 'home' as const },
      { action: 'payment', at: payment, device: s.fresh, on: 'other' as const, amount },
    ];
    return s.plan(kind, 900_400_000 + n, events, { first: login, last: payment }, {
      detail: `${history.length} events on ${s.known}, then a login from ${s.fresh} and a payment of ${amount} ${Math.round((payment - login) / 1000)} s later`,
      expectAlert: true,
    });
  },
});
