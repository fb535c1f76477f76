/**
 * verify's comparison of sequence alert records with the reference (compareSequenceAlerts, and
 * through compare and formatComparison): on a hand-written log run through the real reference,
 * records as a correct engine would write them compare clean, and each fault is reported as its
 * own kind. Also the reading of a record's `matched` attribute (chainOf).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare, compareSequenceAlerts } from '../../local/verify/compare.ts';
import { computeReference, type ReferenceResult } from '../../local/verify/reference/reference.ts';
import { formatComparison } from '../../local/verify/report.ts';
import { chainOf, type SystemSequenceAlert, type SystemState } from '../../local/verify/system-state.ts';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);

let dir: string;
let ref: ReferenceResult;

/** User 1: [partition, action, minutes from T0, device, amount]. */
const LOG: [number, string, number, string, number?][] = [
  [0, 'view', -30, 'known'],
  [0, 'login', -20, 'new-z'], // a step, but over 10 minutes before the payment
  [0, 'login', 1, 'new-a'], // a step within 10 minutes, not the latest
  [0, 'login', 3, 'new-b'], // the latest step: the reference's chain
  [0, 'login', 4, 'known'], // no step: the device is known
  [1, 'payment', 6, 'new-b', 900], // completes: the one match
  [1, 'payment', 7, 'new-b', 100], // no step: 100 is not above 500
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'verify-seq-test-'));
  const lines = LOG.map(([, action, , device, amount], i) =>
    JSON.stringify({
      topic: 'user_events',
      partition: COORDS[i]!.partition,
      offset: COORDS[i]!.offset,
      key: '1',
      value: JSON.stringify({ user_id: 1, action, device_id: device, amount, location_city: 'Paris', timestamp: COORDS[i]!.eventTime }),
    }),
  );
  writeFileSync(join(dir, 'log.jsonl'), `${lines.join('\n')}\n`);
  ref = await computeReference(join(dir, 'log.jsonl'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Each log line's partition, offset and event time. */
const COORDS = (() => {
  const offsets = [0, 0];
  return LOG.map(([partition, , minutes]) => ({ partition, offset: offsets[partition]!++, eventTime: T0 + minutes * MINUTE }));
})();

const at = (partition: number, offset: number, step: string) => ({ step, ...COORDS.find((c) => c.partition === partition && c.offset === offset)! });

/** The records a correct engine writes: one per reference match, its id, the latest chain. */
function correct(): SystemSequenceAlert[] {
  return ref.sequenceMatches.map((m) => ({
    id: m.id,
    ruleId: m.ruleId,
    key: m.key,
    level: m.level,
    alertType: m.alertType,
    windowStart: m.windowStart,
    windowEnd: m.windowEnd,
    timing: 'early' as const,
    matched: m.matched.map((e) => ({ ...e })),
  }));
}

/** A record with another chain, window bounds taken from it. */
function withChain(chain: { step: string; partition: number; offset: number; eventTime: number }[], base = correct()[0]!): SystemSequenceAlert {
  return { ...base, matched: chain, windowStart: chain[0]!.eventTime, windowEnd: chain.at(-1)!.eventTime };
}

describe('compareSequenceAlerts', () => {
  it('the reference has the one match of the log, by the latest chain', () => {
    expect(ref.sequenceMatches.map((m) => m.matched.map((e) => `${e.step}@${e.partition}:${e.offset}`).join(' '))).toEqual(['login@0:3 payment@1:0']);
  });

  it('finds no difference in what a correct engine writes', () => {
    const { sequences, differences } = compareSequenceAlerts(ref, correct());
    expect(differences).toBe(0);
    expect(sequences).toEqual({
      expected: 1,
      raised: 1,
      missing: 0,
      extra: 0,
      duplicated: 0,
      idMismatches: 0,
      levelOrTypeMismatches: 0,
      unreadable: 0,
      invalidChains: 0,
      notLatest: 0,
      late: { expected: 0, stored: 0, missing: 0, extra: 0 },
    });
  });

  it('counts a missing, an extra and a duplicated alert, and an id not derived from the completing event', () => {
    expect(compareSequenceAlerts(ref, []).sequences).toMatchObject({ missing: 1, raised: 0 });
    const dup = { ...correct()[0]!, id: 'seq-000000000000000000000000' };
    const twice = compareSequenceAlerts(ref, [...correct(), dup]);
    expect(twice.sequences).toMatchObject({ duplicated: 1, idMismatches: 1, missing: 0 });
    expect(twice.differences).toBe(2);
    // An alert completed by the payment of 100: no match, and no valid chain.
    const extra = compareSequenceAlerts(ref, [...correct(), withChain([at(0, 3, 'login'), at(1, 1, 'payment')])]);
    expect(extra.sequences).toMatchObject({ extra: 1, invalidChains: 1, idMismatches: 1 });
    const wrongType = compareSequenceAlerts(ref, [{ ...correct()[0]!, level: 'LOW' }]);
    expect(wrongType.sequences.levelOrTypeMismatches).toBe(1);
  });

  it('checks each chain by the step flags, ORDER, within and the window bounds', () => {
    const problems = (record: SystemSequenceAlert) => {
      const examples: Record<string, unknown[]> = {};
      const { sequences } = compareSequenceAlerts(ref, [record], { add: (kind, e) => void (examples[kind] ??= []).push(e) });
      return { invalid: sequences.invalidChains, problem: (examples.sequenceChainsInvalid?.[0] as { problem?: string } | undefined)?.problem };
    };
    // A login from a known device is no step.
    expect(problems(withChain([at(0, 4, 'login'), at(1, 0, 'payment')]))).toMatchObject({ invalid: 1, problem: expect.stringMatching(/does not satisfy step "login"/) });
    // A step over 10 minutes before the payment.
    expect(problems(withChain([at(0, 1, 'login'), at(1, 0, 'payment')]))).toMatchObject({ invalid: 1, problem: expect.stringMatching(/over within 600000/) });
    // Steps out of order, or named wrongly.
    expect(problems(withChain([at(1, 0, 'payment'), at(0, 3, 'login')]))).toMatchObject({ invalid: 1, problem: expect.stringMatching(/is step "payment"/) });
    expect(problems(withChain([at(0, 3, 'login')]))).toMatchObject({ invalid: 1, problem: '1 events for 2 steps' });
    // A window that is not the chain's, or an event time the log does not give.
    expect(problems({ ...correct()[0]!, windowStart: T0 })).toMatchObject({ invalid: 1, problem: expect.stringMatching(/^window/) });
    const shifted = correct()[0]!;
    shifted.matched![0]!.eventTime += 1;
    expect(problems({ ...shifted, windowStart: shifted.matched![0]!.eventTime })).toMatchObject({ invalid: 1, problem: expect.stringMatching(/has event time/) });
    expect(problems(correct()[0]!)).toEqual({ invalid: 0, problem: undefined });
  });

  it('reports a valid chain other than the latest, without counting it a difference', () => {
    const { sequences, differences } = compareSequenceAlerts(ref, [withChain([at(0, 2, 'login'), at(1, 0, 'payment')])]);
    expect(sequences).toMatchObject({ notLatest: 1, invalidChains: 0, missing: 0, extra: 0 });
    expect(differences).toBe(0);
  });

  it('counts a record without a readable chain', () => {
    const { sequences, differences } = compareSequenceAlerts(ref, [{ ...correct()[0]!, matched: undefined }]);
    expect(sequences).toMatchObject({ unreadable: 1, missing: 1 });
    expect(differences).toBe(2);
  });
});

describe('compare and the report, with sequence alerts', () => {
  /** What a correct run stores for the log: the reference's windows, closed as it says, and the sequence records. */
  function system(): SystemState {
    return {
      windows: ref.windows.map((w) => ({ pipeline: w.pipeline, key: w.key, windowStart: w.windowStart, windowEnd: w.windowEnd, closed: w.closed, features: { ...w.features } as SystemState['windows'][number]['features'] })),
      alerts: [],
      sequenceAlerts: correct(),
      quarantined: [],
      late: [],
    };
  }
  const kafka = (s: SystemState) => (s.sequenceAlerts ?? []).map((a) => ({ id: a.id, pipeline: 'sequence', key: a.key, windowStart: a.windowStart, rule: a.ruleId }));

  it('is clean for a correct run, and needs every sequence alert on Kafka', () => {
    const s = system();
    const clean = compare(ref, s, kafka(s));
    expect(clean.differences).toBe(0);
    expect(clean.sequences.expected).toBe(1);
    expect(clean.alerts.kafka).toMatchObject({ unique: 1, missing: 0, extra: 0 });
    const notSent = compare(ref, s, []);
    expect(notSent.alerts.kafka).toMatchObject({ missing: 1 });
    expect(notSent.differences).toBe(1);
    const text = formatComparison(compare(ref, { ...s, sequenceAlerts: [] }, []));
    expect(text).toMatch(/^sequence alerts$/m);
    expect(text).toMatch(/^ {2}missing +1$/m);
    expect(text).toContain('sequence alerts missing: 1');
    expect(text).toMatch(/RESULT: FAILED \(1 differences\)/);
  });

  it('leaves late side records of no window pipeline out of the late comparison, and counts them', () => {
    const s = { ...system(), late: [{ topic: 'user_events', partition: 0, offset: 1, pipeline: 'sequence' }] };
    const c = compare(ref, s, kafka(s));
    expect(c.late.extra).toBe(0);
    expect(c.sequences.late.stored).toBe(1);
  });
});

describe('chainOf', () => {
  const chain = [{ step: 'login', partition: 0, offset: 3, eventTime: T0 }, { step: 'payment', partition: 1, offset: 0, eventTime: T0 + 1 }];
  it('reads a JSON string or a list of maps', () => {
    expect(chainOf({ S: JSON.stringify(chain) })).toEqual(chain);
    expect(chainOf({ L: chain.map((e) => ({ M: { step: { S: e.step }, partition: { N: String(e.partition) }, offset: { N: String(e.offset) }, eventTime: { N: String(e.eventTime) } } })) })).toEqual(chain);
  });
  it('refuses anything else', () => {
    expect(chainOf(undefined)).toBeUndefined();
    expect(chainOf({ S: 'not json' })).toBeUndefined();
    expect(chainOf({ S: '{"step":"login"}' })).toBeUndefined();
    expect(chainOf({ S: JSON.stringify([{ step: 'login', partition: 0 }]) })).toBeUndefined();
    expect(chainOf({ N: '1' })).toBeUndefined();
  });
});
