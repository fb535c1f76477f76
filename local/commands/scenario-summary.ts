/** The scenario lines of `streamguard start`'s summary, from the scenarios and whether each alerted. */
import { expectsAlert } from '../generator/alerted.ts';
import type { InjectedScenario } from '../generator/generate.ts';

export type ScenarioOutcome = InjectedScenario & { alerted: boolean };

/**
 * How many scenarios that must alert did (sequence kinds each on a line of their own, matched by
 * rule and key), and the near misses that must not: "not alerted ... (as expected)", or each one
 * that alerted anyway.
 */
export function scenarioSummaryLines(scenarios: readonly ScenarioOutcome[]): { lines: string[]; expected: ScenarioOutcome[]; missed: ScenarioOutcome[] } {
  const expected = scenarios.filter(expectsAlert);
  const nearMisses = scenarios.filter((s) => !expectsAlert(s));
  const missed = expected.filter((s) => !s.alerted);
  const lines: string[] = [];
  const sequences = expected.filter((x) => x.rule !== undefined);
  for (const kind of [...new Set(sequences.map((x) => x.kind))]) {
    const own = sequences.filter((x) => x.kind === kind);
    lines.push(`  ${kind}: alerted ${own.filter((x) => x.alerted).length}/${own.length} (rule ${own[0]!.rule}, by rule and key)`);
  }
  if (nearMisses.length > 0) {
    const quiet = nearMisses.filter((s) => !s.alerted);
    lines.push(`  near misses not alerted ${quiet.length}/${nearMisses.length}${quiet.length === nearMisses.length ? ' (as expected)' : ''}: ${[...new Set(nearMisses.map((s) => s.kind))].join(', ')}`);
    for (const s of nearMisses.filter((x) => x.alerted)) lines.push(`  alerted although a near miss: ${s.kind} key=${s.key} (${s.detail})`);
  }
  return { lines, expected, missed };
}
