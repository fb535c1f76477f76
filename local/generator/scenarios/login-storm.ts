/** Scenario "login_storm": credential stuffing, one user logging in past the logins rule from one device and city. */
import { USER_EVENTS } from '../../../lib/pipelines/topics.ts';
import { publicIp } from '../world.ts';
import { defineScenario } from './spec.ts';

const MINUTE = 60_000;

const kind = 'login_storm';
const rule = 'risk-medium';

export const loginStorm = defineScenario({
  kind,
  rule,
  plan({ rng, world, stream, thresholds }, n) {
    const { rule: target, pipeline, least } = thresholds.trigger(rule, ['logins'], kind);
    const windowMs = pipeline.window.sizeMs;
    const userId = 900_200_000 + n;
    // Past the threshold by a seeded margin of 2 to 6 logins, among up to 3 views.
    const logins = rng.int(least.logins! + 2, least.logins! + 6);
    const views = rng.int(0, 3);
    const { windowStart, stamps } = stream.scenarioTimes(windowMs, rng.int(10, 45) * MINUTE, logins + views, USER_EVENTS);
    const device = `dev-${rng.hex(10)}`;
    const city = world.city();
    const ip = publicIp(rng);
    const actions = rng.shuffle([...Array<string>(logins).fill('login'), ...Array<string>(views).fill('view')]);
    return {
      scenario: {
        kind,
        pipeline: target.pipeline,
        key: String(userId),
        windowStart,
        windowEnd: windowStart + windowMs,
        expectedLevel: target.level,
        detail: `user ${userId}: ${logins} logins from ${device} in ${city}`,
      },
      events: stamps.map((s, i) => ({ topic: USER_EVENTS, key: String(userId), eventTime: s.t, body: world.userBody(userId, actions[i]!, device, city, ip, s) })),
    };
  },
});
