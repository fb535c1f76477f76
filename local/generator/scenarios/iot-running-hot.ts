/**
 * Scenario "iot_running_hot": a device whose readings are all in range but whose mean temperature
 * over a minute passes the at-close rule real-time runs add (local/latency/close-rule.ts). Planned
 * only when that rule is among the rules (`appliesTo`), so the shipped rules' plans and seeds are
 * unchanged. Its window is one the watermark passes within a short run (Stream.closingTimes): the
 * alert it times is raised by the closer.
 */
import { IOT_TELEMETRY } from '../../../lib/pipelines/topics.ts';
import { CLOSE_RULE } from '../../latency/close-rule.ts';
import { defineScenario } from './spec.ts';

const tenths = (x: number) => Math.round(x * 10) / 10;

const kind = 'iot_running_hot';
const rule = CLOSE_RULE.id;

export const iotRunningHot = defineScenario({
  kind,
  rule,
  appliesTo: (thresholds) => thresholds.hasRule(rule),
  plan({ rng, world, stream, thresholds }, n) {
    const { rule: target, pipeline, least } = thresholds.trigger(rule, ['temperatureAvg'], kind);
    const windowMs = pipeline.window.sizeMs;
    const [, tHi] = world.ranges.temperature;
    const deviceId = `sensor-h${String(n + 1).padStart(4, '0')}`;
    const readings = rng.int(3, 8);
    // Every reading above the least mean that fires and inside the kept range, so the mean passes it.
    const lo = least.temperatureAvg! + 1;
    if (!(lo < tHi)) throw new RangeError(`${kind}: rule "${rule}" needs a mean temperature of ${least.temperatureAvg}, outside the kept range (max ${tHi})`);
    const { windowStart, stamps } = stream.closingTimes(windowMs, rng.int(5, 20) * 1000, readings, IOT_TELEMETRY, n);
    return {
      scenario: {
        kind,
        pipeline: target.pipeline,
        key: deviceId,
        windowStart,
        windowEnd: windowStart + windowMs,
        detail: `${deviceId}: ${readings} readings in range, mean above ${least.temperatureAvg} °C`,
      },
      events: stamps.map((s) => {
        const temperature = tenths(rng.between(lo, tHi - 0.5));
        const humidity = tenths(rng.between(30, 60));
        return { topic: IOT_TELEMETRY, key: deviceId, eventTime: s.t, body: { device_id: deviceId, temperature, humidity, [s.field]: s.value } };
      }),
    };
  },
});
