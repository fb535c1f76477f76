/** Scenario "payment_spree": a stolen card, one user paying past the payments rule within one window. */
import { USER_EVENTS } from '../../../lib/pipelines/topics.ts';
import { publicIp } from '../world.ts';
import { defineScenario } from './spec.ts';

const kind = 'payment_spree';
const rule = 'payments-spree';

export const paymentSpree = defineScenario({
  kind,
  rule,
  plan({ rng, world, stream, thresholds }, n) {
    const { rule: target, pipeline, least } = thresholds.trigger(rule, ['count'], kind);
    const windowMs = pipeline.window.sizeMs;
    const userId = 900_300_000 + n;
    // Past the threshold by a seeded margin of 1 to 9 payments.
    const count = rng.int(least.count! + 1, least.count! + 9);
    const { windowStart, stamps } = stream.scenarioTimes(windowMs, rng.int(60, 240) * 1000, count, USER_EVENTS);
    const device = `dev-${rng.hex(10)}`;
    const city = world.city();
    const ip = publicIp(rng);
    return {
      scenario: {
        kind,
        pipeline: target.pipeline,
        key: String(userId),
        windowStart,
        windowEnd: windowStart + windowMs,
        detail: `user ${userId}: ${count} payments`,
      },
      events: stamps.map((s) => ({ topic: USER_EVENTS, key: String(userId), eventTime: s.t, body: world.userBody(userId, 'payment', device, city, ip, s) })),
    };
  },
});
