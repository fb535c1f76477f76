/**
 * Every fraud scenario kind, one module each (spec.ts says what a kind provides). To add one,
 * write its module and list it here (new kinds last, so the earlier kinds draw what they drew); the order is the order instances are planned in, so it is
 * part of what a seed means.
 */
import { accountTakeover } from './account-takeover.ts';
import { atoFirstDevice } from './ato-first-device.ts';
import { atoKnownDevice } from './ato-known-device.ts';
import { atoLatePayment } from './ato-late-payment.ts';
import { atoPaymentBeforeLogin } from './ato-payment-before-login.ts';
import { atoPaymentOf500 } from './ato-payment-of-500.ts';
import { deviceCitySwitch } from './device-city-switch.ts';
import { iotOutOfRange } from './iot-out-of-range.ts';
import { iotRunningHot } from './iot-running-hot.ts';
import { loginStorm } from './login-storm.ts';
import { paymentSpree } from './payment-spree.ts';
import { registrationBurst } from './registration-burst.ts';
import { registrationStraddle } from './registration-straddle.ts';
import type { Thresholds } from '../thresholds.ts';
import type { ScenarioSpec } from './spec.ts';

/**
 * The scenarios of window rules, then those of the sequence rule new-device-payment (its pattern,
 * then its near misses), then the straddling burst. Appended last: a kind that applies only to some
 * pipelines (`appliesTo`) changes the plan of none listed before it.
 */
export const SCENARIOS = [
  registrationBurst,
  deviceCitySwitch,
  loginStorm,
  paymentSpree,
  iotOutOfRange,
  accountTakeover,
  atoLatePayment,
  atoPaymentOf500,
  atoPaymentBeforeLogin,
  atoKnownDevice,
  atoFirstDevice,
  registrationStraddle,
  // Only where its at-close rule is among the rules (real-time runs: local/latency/close-rule.ts).
  iotRunningHot,
] as const;

/** The kinds planned with these pipelines and rules (those whose `appliesTo` holds), in SCENARIOS order. */
export function scenariosFor(thresholds: Thresholds): (typeof SCENARIOS)[number][] {
  return SCENARIOS.filter((spec: ScenarioSpec) => spec.appliesTo?.(thresholds) ?? true);
}

/** The name of a scenario kind. */
export type ScenarioKind = (typeof SCENARIOS)[number]['kind'];

export type { ScenarioContext, ScenarioPlan, ScenarioSpec } from './spec.ts';
