/**
 * Scenario "registration_straddle": a bot farm's burst across a window boundary, the trick that
 * beats tumbling windows (issue #14): fewer sign-ups than the rule's threshold on each side of a
 * boundary B, more than it within one window. Planned only while the registrations pipeline hops:
 * a tumbling window sees each half under the threshold, so nothing would fire.
 *
 * B is a multiple of the window size and of the rule's cooldown, so every window that matches
 * holds sign-ups from both sides, starts in (B - size, B), and lies in one cooldown group: one
 * alert. The burst spans less than a window ([B - h, B + h), h = half a window less one advance,
 * in whole advances), so the window [B - h, B - h + size) holds all of it: the one reported.
 */
import { USER_REGISTRATIONS } from '../../../lib/pipelines/topics.ts';
import { otherScenarioIp } from '../world.ts';
import { defineScenario } from './spec.ts';

const kind = 'registration_straddle';
const rule = 'registrations-suspicious-ip';

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

export const registrationStraddle = defineScenario({
  kind,
  rule,
  appliesTo(thresholds) {
    const { pipeline } = thresholds.trigger(rule, ['registrations'], kind);
    return pipeline.window.advanceMs < pipeline.window.sizeMs;
  },
  plan({ rng, world, stream, thresholds }, n) {
    const { rule: target, pipeline, least } = thresholds.trigger(rule, ['registrations'], kind);
    const { sizeMs, advanceMs } = pipeline.window;
    const cooldownMs = thresholds.cooldownMs(rule);
    const boundaryMs = (sizeMs / gcd(sizeMs, cooldownMs)) * cooldownMs;
    const halfMs = Math.floor((sizeMs - advanceMs) / 2 / advanceMs) * advanceMs;
    const under = least.registrations! - 1;
    // At most `under` on each side, at least the threshold in all: a seeded margin of up to 9 above it.
    const total = rng.int(Math.min(least.registrations! + 2, 2 * under), Math.min(least.registrations! + 9, 2 * under));
    const before = rng.int(total - under, under);
    const ip = otherScenarioIp(n);
    const { boundary, stamps } = stream.straddlingTimes(boundaryMs, halfMs, sizeMs, before, total - before, USER_REGISTRATIONS);
    const devices = Array.from({ length: rng.int(1, 4) }, () => `dev-${rng.hex(10)}`);
    // The window [B - h, B - h + size) holds the whole burst; in a stream too short to straddle, the
    // one from the burst's first advance does (the burst spans under size - advance).
    const first = Math.min(...stamps.map((s) => s.t));
    const windowStart = boundary !== undefined ? boundary - halfMs : first - (((first % advanceMs) + advanceMs) % advanceMs);
    const where = boundary !== undefined ? `across ${new Date(boundary).toISOString()}: ${before} before, ${total - before} after` : 'in a stream too short to straddle a boundary';
    return {
      scenario: {
        kind,
        pipeline: target.pipeline,
        key: ip,
        windowStart,
        windowEnd: windowStart + sizeMs,
        detail: `${total} registrations from ${ip} ${where} (${devices.length} devices)`,
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
