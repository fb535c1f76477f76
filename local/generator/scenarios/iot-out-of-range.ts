/**
 * Scenario "iot_out_of_range": a failing sensor sending physically impossible readings, past the
 * rejected-readings rule, among a few good ones. "Impossible" is outside the iot pipeline's kept
 * ranges (TEMPERATURE_RANGE, HUMIDITY_RANGE in lib/pipelines/builtin.ts).
 */
import { IOT_TELEMETRY } from '../../../lib/pipelines/topics.ts';
import { defineScenario } from './spec.ts';

const tenths = (x: number) => Math.round(x * 10) / 10;

const kind = 'iot_out_of_range';
const rule = 'iot-sensor-out-of-range';

export const iotOutOfRange = defineScenario({
  kind,
  rule,
  plan({ rng, world, stream, thresholds }, n) {
    const { rule: target, pipeline, least } = thresholds.trigger(rule, ['rejected'], kind);
    const windowMs = pipeline.window.sizeMs;
    const [tLo, tHi] = world.ranges.temperature;
    const [hLo, hHi] = world.ranges.humidity;
    const deviceId = `sensor-x${String(n + 1).padStart(4, '0')}`;
    // Past the threshold by a seeded margin of 0 to 4 readings, among up to 3 good ones.
    const bad = rng.int(least.rejected!, least.rejected! + 4);
    const good = rng.int(0, 3);
    const { windowStart, stamps } = stream.scenarioTimes(windowMs, rng.int(10, 45) * 1000, bad + good, IOT_TELEMETRY);
    const kinds = rng.shuffle([...Array<boolean>(bad).fill(true), ...Array<boolean>(good).fill(false)]);
    const fault = rng.pick(['overheat', 'frozen', 'humidity'] as const);
    return {
      scenario: {
        kind,
        pipeline: target.pipeline,
        key: deviceId,
        windowStart,
        windowEnd: windowStart + windowMs,
        detail: `${deviceId}: ${bad} out-of-range readings (${fault}), ${good} in range`,
      },
      events: stamps.map((s, i) => {
        // A good reading: a comfortable room, kept inside the ranges whatever they are.
        let temperature = Math.min(tHi - 1, Math.max(tLo + 1, tenths(rng.between(18, 30))));
        let humidity = Math.min(hHi - 0.5, Math.max(hLo + 0.5, tenths(rng.between(30, 60))));
        if (kinds[i]) {
          if (fault === 'overheat') temperature = tenths(rng.between(tHi + 0.5, tHi + 150));
          else if (fault === 'frozen') temperature = tenths(rng.between(tLo - 50, tLo - 0.5));
          else humidity = rng.chance(0.5) ? tenths(rng.between(hHi + 0.5, hHi + 40)) : tenths(rng.between(hLo - 20, hLo - 0.5));
        }
        return { topic: IOT_TELEMETRY, key: deviceId, eventTime: s.t, body: { device_id: deviceId, temperature, humidity, [s.field]: s.value } };
      }),
    };
  },
});
