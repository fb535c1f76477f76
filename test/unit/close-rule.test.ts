/** The rule real-time runs add for at-close latency (local/latency/close-rule.ts), its scenario and where a run starts. */
import { describe, expect, it } from 'vitest';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { defaultRules } from '../../lib/rules/defaults.ts';
import { ruleTiming } from '../../lib/rules/early.ts';
import { effectiveRules } from '../../lib/rules/rule-cache.ts';
import { InMemoryRuleStore } from '../../lib/rules/rule-store.ts';
import { generate, scenarioKinds } from '../../local/generator/generate.ts';
import { alignedStart, realTimeGeneratorOptions, REAL_TIME_START_PHASE_MS } from '../../local/generator/pace.ts';
import { CLOSE_RULE, realTimeRules, storeCloseRule } from '../../local/latency/close-rule.ts';
import { alertKey } from '../../local/latency/latency.ts';
import { findTriggers } from '../../local/latency/triggers.ts';

describe('the at-close rule of real-time runs', () => {
  it('is decided at close, and is not a shipped default', () => {
    expect(ruleTiming(CLOSE_RULE, builtinPipelines).timing).toBe('close');
    expect(defaultRules.some((r) => r.id === CLOSE_RULE.id)).toBe(false);
  });

  it("is stored with its pipeline's defaults, so the functions' rules are the defaults and it", async () => {
    const store = new InMemoryRuleStore(builtinPipelines);
    await storeCloseRule(store);
    const ids = (rules: readonly { id: string }[]) => rules.map((r) => r.id).sort();
    expect(ids(effectiveRules(await store.list(), defaultRules))).toEqual(ids(realTimeRules));
  });

  it('has a scenario only where it is among the rules, so shipped plans and seeds are unchanged', () => {
    expect(scenarioKinds()).not.toContain('iot_running_hot');
    expect(scenarioKinds({ rules: realTimeRules })).toContain('iot_running_hot');
  });

  it("makes it match in a window the run's last watermark passes, and the background never does", async () => {
    const start = alignedStart(Date.UTC(2026, 11, 1, 22, 0, 3));
    const { records, scenarios } = generate({ ...realTimeGeneratorOptions({ rate: 50, seconds: 60, seed: 3, start }), rules: realTimeRules });
    const hot = scenarios.filter((s) => s.kind === 'iot_running_hot');
    expect(hot.length).toBeGreaterThan(0);
    const replay = await findTriggers(
      records.map((r, i) => ({ topic: r.topic, partition: 0, offset: i, key: r.key, value: r.value, ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}), producedAt: i })),
      { pipelines: builtinPipelines, rules: realTimeRules, watermarkDelayMs: 10_000, partitions: { user_events: 1, user_registrations: 1, iot_telemetry: 1 } },
    );
    const matched = [...replay.triggers.keys()].filter((k) => JSON.parse(k)[3] === CLOSE_RULE.id).sort();
    expect(matched).toEqual(hot.map((s) => alertKey('iot', s.key, s.windowStart, CLOSE_RULE.id)).sort());
    for (const s of hot) expect(replay.watermarkPassedAt('iot', s.windowEnd)).toBeDefined();
  });
});

describe('alignedStart', () => {
  it('starts a run at the same place in the minute, at or after the earliest moment', () => {
    const minute = Date.UTC(2026, 11, 1, 22, 0, 0);
    expect(alignedStart(minute)).toBe(minute + REAL_TIME_START_PHASE_MS);
    expect(alignedStart(minute + REAL_TIME_START_PHASE_MS)).toBe(minute + REAL_TIME_START_PHASE_MS);
    expect(alignedStart(minute + REAL_TIME_START_PHASE_MS + 1)).toBe(minute + 60_000 + REAL_TIME_START_PHASE_MS);
    expect(alignedStart(minute + 7, 0)).toBe(minute + 60_000);
  });
});
