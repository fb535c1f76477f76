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
import { loginStorm } from './login-storm.ts';
import { paymentSpree } from './payment-spree.ts';
import { registrationBurst } from './registration-burst.ts';

/** The scenarios of window rules, then those of the sequence rule new-device-payment (its pattern, then its near misses). */
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
] as const;

/** The name of a scenario kind. */
export type ScenarioKind = (typeof SCENARIOS)[number]['kind'];

export type { ScenarioContext, ScenarioPlan, ScenarioSpec } from './spec.ts';
