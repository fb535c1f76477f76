/**
 * Every fraud scenario kind, one module each (spec.ts says what a kind provides). To add one,
 * write its module and list it here; the order is the order instances are planned in, so it is
 * part of what a seed means.
 */
import { deviceCitySwitch } from './device-city-switch.ts';
import { iotOutOfRange } from './iot-out-of-range.ts';
import { loginStorm } from './login-storm.ts';
import { paymentSpree } from './payment-spree.ts';
import { registrationBurst } from './registration-burst.ts';
import { registrationStraddle } from './registration-straddle.ts';
import type { Thresholds } from '../thresholds.ts';
import type { ScenarioSpec } from './spec.ts';

// Appended last: a kind that applies to the pipelines changes the plan of none listed before it.
export const SCENARIOS = [registrationBurst, deviceCitySwitch, loginStorm, paymentSpree, iotOutOfRange, registrationStraddle] as const;

/** The kinds planned with these pipelines and rules (those whose `appliesTo` holds), in SCENARIOS order. */
export function scenariosFor(thresholds: Thresholds): (typeof SCENARIOS)[number][] {
  return SCENARIOS.filter((spec: ScenarioSpec) => spec.appliesTo?.(thresholds) ?? true);
}

/** The name of a scenario kind. */
export type ScenarioKind = (typeof SCENARIOS)[number]['kind'];

export type { ScenarioContext, ScenarioPlan, ScenarioSpec } from './spec.ts';
