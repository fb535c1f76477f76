/**
 * The `npm start` demo as a user runs it: every injected fraud scenario raises its alert, clean
 * background traffic raises none, and alerts.jsonl holds each alert id once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import { runStart } from '../../local/commands/start.ts';
import { alertIsFor, expectsAlert } from '../../local/generator/alerted.ts';
import type { InjectedScenario } from '../../local/generator/generate.ts';

const out = mkdtempSync(join(tmpdir(), 'streamguard-demo-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('alerts on every injected scenario and on nothing else', async () => {
  const code = await runStart({
    source: { kind: 'generate', events: 25_000, seed: 7 },
    out,
    closerIntervalMs: 2_000,
    kafkaBrokers: undefined,
    dynamoEndpoint: inject('dynamoEndpoint'),
    quiet: true,
  });
  expect(code).toBe(0);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const alerts = readFileSync(join(out, 'alerts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(summary.scenarios.length).toBeGreaterThanOrEqual(5);
  // Every scenario alerted, but the sequence near misses, which must not.
  expect(summary.scenarios.filter((s: { alerted: boolean; expectAlert?: false }) => s.alerted !== (s.expectAlert ?? true))).toEqual([]);
  expect(summary.scenarios.some((s: { kind: string; alerted: boolean }) => s.kind === 'account_takeover' && s.alerted)).toBe(true);
  // Every alert a scenario's (for a hopping pipeline, a window overlapping it): none from clean traffic.
  const expected = summary.scenarios.filter((s: InjectedScenario) => expectsAlert(s));
  expect(alerts.filter((a) => !expected.some((s: InjectedScenario) => alertIsFor(s, a)))).toEqual([]);
  expect(new Set(alerts.map((a) => a.id)).size).toBe(alerts.length);
  expect(summary.quarantined).toBe(summary.malformed);
  const events = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n');
  expect(events).toHaveLength(25_000);
  // About 200 s on two idle cores; the margin is for a loaded machine (not a speed claim: bench/).
}, 600_000);
