/** Scenario "registration_burst": a bot farm signs up from one IP, past the sign-ups-per-IP rule. */
import { USER_REGISTRATIONS } from '../../../lib/pipelines/topics.ts';
import { scenarioIp } from '../world.ts';
import { defineScenario } from './spec.ts';

const MINUTE = 60_000;

const kind = 'registration_burst';
const rule = 'registrations-suspicious-ip';

export const registrationBurst = defineScenario({
  kind,
  rule,
  plan({ rng, world, stream, thresholds }, n) {
    const { rule: target, pipeline, least } = thresholds.trigger(rule, ['registrations'], kind);
    const windowMs = pipeline.window.sizeMs;
    const ip = scenarioIp(n);
    // Past the threshold by a seeded margin of 4 to 19 sign-ups.
    const count = rng.int(least.registrations! + 4, least.registrations! + 19);
    const { windowStart, stamps } = stream.scenarioTimes(windowMs, rng.int(2, 6) * MINUTE, count, USER_REGISTRATIONS);
    // A bot farm reuses a handful of devices.
    const devices = Array.from({ length: rng.int(1, 4) }, () => `dev-${rng.hex(10)}`);
    return {
      scenario: {
        kind,
        pipeline: target.pipeline,
        key: ip,
        windowStart,
        windowEnd: windowStart + windowMs,
        detail: `${count} registrations from ${ip} (${devices.length} devices)`,
      },
      events: stamps.map((s) => ({
        topic: USER_REGISTRATIONS,
        key: ip,
        eventTime: s.t,
        body: { user_id: world.registeredUserId(), ip, device_id: rng.pick(devices), [s.field]: s.value },
      })),
    };
  },
});
