/**
 * The generator's sequence scenarios (local/generator/scenarios/account-takeover.ts and the ato-*
 * near misses) judged by the independent DuckDB reference: the account takeover raises exactly one
 * new-device-payment match for its user, with the chain the scenario reports, and each near miss
 * none; and they spread each user over two partitions the way the known limit allows (the
 * history on the login's partition, read before it).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, type GenerateOptions, type GenerateResult, type GeneratedRecord } from '../../local/generator/generate.ts';
import { realTimeGeneratorOptions } from '../../local/generator/pace.ts';
import { computeReference, type ReferenceResult } from '../../local/verify/reference/reference.ts';

const PARTITIONS: Record<string, number> = { user_events: 4, user_registrations: 3, iot_telemetry: 2 };

let dir: string;
let logs = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'generator-seq-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A partition as a producer would pick it: the record's own, else by a hash of the key, else round-robin. */
function partitionOf(r: GeneratedRecord, n: number, counter: { next: number }): number {
  if (r.partition !== undefined) return r.partition % n;
  if (r.key === null) return counter.next++ % n;
  let h = 0;
  for (const c of r.key) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % n;
}

/** Produces the records to an imaginary broker (offsets in order per partition) and runs the reference on the log. */
async function reference(result: GenerateResult, watermarkDelayMs?: number): Promise<{ ref: ReferenceResult; placed: { partition: number; offset: number }[] }> {
  const next = new Map<string, number>();
  const counter = { next: 0 };
  const placed = result.records.map((r) => {
    const partition = partitionOf(r, PARTITIONS[r.topic]!, counter);
    const id = `${r.topic}-${partition}`;
    const offset = next.get(id) ?? 0;
    next.set(id, offset + 1);
    return { partition, offset };
  });
  const lines = result.records.map((r, i) => JSON.stringify({ topic: r.topic, ...placed[i], key: r.key, value: r.value, timestamp: r.timestamp }));
  const path = join(dir, `log-${++logs}.jsonl`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { ref: await computeReference(path, { watermarkDelayMs }), placed };
}

const sequenceScenarios = (r: GenerateResult) => r.scenarios.filter((s) => s.pipeline === 'sequence');

const NEAR_MISSES = ['ato_late_payment', 'ato_payment_of_500', 'ato_payment_before_login', 'ato_known_device', 'ato_first_device'];

describe('generate: the account-takeover scenario and its near misses, by the reference', () => {
  const cases: [string, GenerateOptions][] = [
    ['5,000 events, seed 11', { events: 5000, seed: 11 }],
    ["verify's slow stream with late records, 3 per kind", { events: 9000, seed: 3, eventsPerSecondOfEventTime: 9000 / (3 * 3600), scenariosPerKind: 3 }],
  ];
  for (const [name, options] of cases) {
    it(`alerts for each account takeover, with its chain, and for no near miss (${name})`, async () => {
      const result = generate(options);
      const { ref, placed } = await reference(result);
      const scenarios = sequenceScenarios(result);
      const k = options.scenariosPerKind ?? 1;
      expect(scenarios.filter((s) => s.kind === 'account_takeover')).toHaveLength(k);
      for (const kind of NEAR_MISSES) expect(scenarios.filter((s) => s.kind === kind)).toHaveLength(k);
      for (const s of scenarios) {
        expect(s.rule).toBe('new-device-payment');
        const matches = ref.sequenceMatches.filter((m) => m.key === s.key);
        if (s.expectAlert === false) {
          expect(matches, `${s.kind} ${s.detail}`).toEqual([]);
          continue;
        }
        expect(matches, `${s.kind} ${s.detail}`).toHaveLength(1);
        // The chain the scenario reports: its login starts the alert's window, its payment ends it.
        expect(matches[0]!.windowStart).toBe(s.windowStart);
        expect(matches[0]!.windowEnd).toBe(s.windowEnd - 1);
        expect(matches[0]!.matched.map((e) => e.partition)).toHaveLength(2);
        expect(new Set(matches[0]!.matched.map((e) => e.partition)).size).toBe(2);
      }
      // Every scenario event was applied: none is late for sequences.
      const late = new Set(ref.sequenceLate.map((e) => `${e.partition}:${e.offset}`));
      result.records.forEach((r, i) => {
        if (r.scenario !== undefined && result.scenarios[r.scenario]!.pipeline === 'sequence') expect(late.has(`${placed[i]!.partition}:${placed[i]!.offset}`)).toBe(false);
      });
    });
  }

  it("puts each user's history on the login's partition, read before it, and the payment on the other", () => {
    const result = generate({ events: 9000, seed: 4, scenariosPerKind: 2 });
    sequenceScenarios(result).forEach((s) => {
      const index = result.scenarios.indexOf(s);
      const own = result.records.flatMap((r, i) => (r.scenario === index ? [{ r, i, body: JSON.parse(r.value) as Record<string, unknown> }] : []));
      expect(own.every((x) => x.r.topic === 'user_events' && x.r.partition !== undefined && x.r.key === s.key)).toBe(true);
      const action = (b: Record<string, unknown>) => b.action ?? b.event_type;
      const logins = own.filter((x) => action(x.body) === 'login');
      const login = logins.at(-1)!;
      const payment = own.find((x) => action(x.body) === 'payment')!;
      expect(payment.r.partition).not.toBe(login.r.partition);
      // Everything else before the login is on its partition and produced before it.
      for (const x of own.filter((y) => y !== payment && y.r.eventTime! < login.r.eventTime!)) {
        expect(x.r.partition).toBe(login.r.partition);
        expect(x.i).toBeLessThan(login.i);
      }
      // Exact times: a near miss sits on its boundary to the millisecond.
      if (s.kind === 'ato_late_payment') expect(payment.r.eventTime! - login.r.eventTime!).toBeGreaterThan(600_000);
      if (s.kind === 'ato_payment_of_500') expect(Number(payment.body.amount)).toBe(500);
      if (s.kind === 'ato_payment_before_login') expect(payment.r.eventTime!).toBeLessThan(login.r.eventTime!);
      if (s.kind === 'ato_first_device') expect(own).toHaveLength(2);
      if (s.kind === 'account_takeover') expect(Number(payment.body.amount)).toBeGreaterThan(500);
    });
  });

  it('leaves out the kinds a short stream cannot hold (a payment 10 minutes after a login), and keeps the others', async () => {
    const options = realTimeGeneratorOptions({ rate: 200, seconds: 60, seed: 2, start: Date.UTC(2026, 10, 23, 9) });
    const result = generate(options);
    const kinds = new Set(sequenceScenarios(result).map((s) => s.kind));
    expect(kinds.has('ato_late_payment')).toBe(false);
    expect([...kinds].sort()).toEqual(['account_takeover', 'ato_first_device', 'ato_known_device', 'ato_payment_before_login', 'ato_payment_of_500']);
    const { ref } = await reference(result, options.watermarkDelayMs);
    for (const s of sequenceScenarios(result)) expect(ref.sequenceMatches.filter((m) => m.key === s.key)).toHaveLength(s.expectAlert === false ? 0 : 1);
  });
});
