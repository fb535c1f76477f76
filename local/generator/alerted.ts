/** Which alert answers an injected scenario (npm start's summary, the bench). */
import { scenarioAlerted, type InjectedScenario } from './types.ts';

/** The fields of an alert (a record or a message off the alert topic) that name what it is for. */
export interface AlertName {
  pipeline: string;
  key: string;
  windowStart: number;
  windowEnd: number;
  rule: string;
}

/**
 * Whether alert `a` is one scenario `s` is about: a window scenario's by pipeline, key and an
 * overlapping window (for a hopping pipeline the alert names one matching window of its cooldown
 * group); a sequence scenario's by rule and key (its alert's window is its chain, which the engine picks).
 */
export function alertIsFor(s: InjectedScenario, a: AlertName): boolean {
  if (s.rule !== undefined) return a.pipeline === s.pipeline && a.rule === s.rule && a.key === s.key;
  return scenarioAlerted(s, a);
}

/** Whether the scenario must raise an alert (false for a sequence near miss). */
export const expectsAlert = (s: InjectedScenario): boolean => s.expectAlert !== false;
