/**
 * Scenario "device_city_switch": an account taken over, used from new devices in new cities within
 * one window, past the HIGH rule's counts of both. The sessions (one per device and city the rule
 * needs) each start with a login; logins and payments stay under their own rules, so the window
 * raises only the one alert.
 */
import { USER_EVENTS } from '../../../lib/pipelines/topics.ts';
import { windowStartOf } from '../stream.ts';
import type { PlannedEvent } from '../types.ts';
import { CITIES, publicIp } from '../world.ts';
import { defineScenario } from './spec.ts';

const MINUTE = 60_000;

const kind = 'device_city_switch';
const rule = 'risk-high';

export const deviceCitySwitch = defineScenario({
  kind,
  rule,
  plan({ rng, world, stream, thresholds }, n) {
    const { rule: target, pipeline, least } = thresholds.trigger(rule, ['devices', 'cities'], kind);
    const logins = thresholds.trigger('risk-medium', ['logins'], kind);
    const payments = thresholds.trigger('payments-spree', ['count'], kind);
    const windowMs = pipeline.window.sizeMs;
    const deviceCount = least.devices!;
    const cityCount = least.cities!;
    const sessions = Math.max(deviceCount, cityCount);

    const userId = 900_100_000 + n;
    const count = rng.int(3 * sessions, 5 * sessions);
    const { windowStart, stamps } = stream.scenarioTimes(windowMs, rng.int(20, 50) * MINUTE, count, USER_EVENTS);
    const devices = Array.from({ length: deviceCount }, () => `dev-${rng.hex(10)}`);
    const cities = [world.city()];
    while (cities.length < cityCount) {
      let city: string;
      do city = rng.pick(CITIES);
      while (cities.includes(city));
      cities.push(city);
    }
    // Session j starts at event starts[j]; each has at least two events.
    const starts = [0];
    for (let j = 1; j < sessions; j++) starts.push(rng.int(starts[j - 1]! + 2, count - 2 * (sessions - j)));
    const ips = Array.from({ length: sessions }, () => publicIp(rng));
    const sessionOf = (i: number) => starts.findLastIndex((s) => s <= i);
    const deviceOf = (j: number) => devices[Math.min(j, deviceCount - 1)]!;
    const cityOf = (j: number) => cities[Math.min(j, cityCount - 1)]!;

    let loggedIn = 0;
    const paid = new Map<number, number>();
    const events = stamps.map((s, i): PlannedEvent => {
      const j = sessionOf(i);
      // Each session starts with a login; the rest is browsing and a few payments.
      let action = starts[j] === i ? 'login' : rng.weighted([['view', 3], ['payment', 1]] as const);
      if (action === 'login' && loggedIn++ >= logins.least.logins! - 1) action = 'view';
      if (action === 'payment') {
        const w = windowStartOf(s.t, payments.pipeline.window.sizeMs);
        const before = paid.get(w) ?? 0;
        if (before >= payments.least.count! - 1) action = 'view';
        else paid.set(w, before + 1);
      }
      return { topic: USER_EVENTS, key: String(userId), eventTime: s.t, body: world.userBody(userId, action, deviceOf(j), cityOf(j), ips[j]!, s) };
    });
    const path = starts.map((_, j) => `${deviceOf(j)} in ${cityOf(j)}`).join(', then ');
    return {
      scenario: {
        kind,
        pipeline: target.pipeline,
        key: String(userId),
        windowStart,
        windowEnd: windowStart + windowMs,
        expectedLevel: target.level,
        detail: `user ${userId}: ${path} (${count} events)`,
      },
      events,
    };
  },
});
