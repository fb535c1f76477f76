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

export const SCENARIOS = [registrationBurst, deviceCitySwitch, loginStorm, paymentSpree, iotOutOfRange] as const;

/** The name of a scenario kind. */
export type ScenarioKind = (typeof SCENARIOS)[number]['kind'];

export type { ScenarioContext, ScenarioPlan, ScenarioSpec } from './spec.ts';
