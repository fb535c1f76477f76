/**
 * The sequence stage (lib/sequences/stage.ts) on the in-memory store: a batch's states are read in
 * chunks of 100 keys, one readMany each; a key read ahead and written over meanwhile loses its
 * compare-and-set, reads that key again on its own and still records its alert once. And the
 * DynamoDB adapter's readMany against a scripted client: unprocessed keys are asked again, a
 * bounded number of times, then TransientStoreError.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { SequenceAlert } from '../../lib/closer/ports.ts';
import { interleave } from '../../lib/ingest/ingest-batch.ts';
import { SequenceCompiler } from '../../lib/sequences/compile.ts';
import { defaultSequenceRules } from '../../lib/sequences/defaults.ts';
import type { SequenceInput } from '../../lib/sequences/matcher.ts';
import { MAX_READ_MANY, type SequenceStateKey, type StoredSequenceState } from '../../lib/sequences/ports.ts';
import { applySequenceKey, readStates, type SequenceKeyBatch, type SequenceStageDeps } from '../../lib/sequences/stage.ts';
import { DynamoSequenceStore } from '../../lib/store/dynamodb/sequence-store.ts';
import { TransientStoreError } from '../../lib/store/errors.ts';
import { MemorySequenceStore } from '../../lib/store/memory/sequence-store.ts';
import { sequencePk } from '../../lib/store/tables.ts';
import { emptyKeyState } from '../../lib/sequences/state.ts';

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);
const group = new SequenceCompiler().groups(defaultSequenceRules, 'user_events')[0]!;

function ev(user: string, offset: number, t: number, action: string, extra: Record<string, string | number> = {}): SequenceInput {
  return { event: { userId: user, action, eventTime: t, ...extra } as SequenceInput['event'], partition: 0, offset };
}

/** The takeover pattern for `user` at offsets from `base`: the payment completes it. */
const takeover = (user: string, base = 0): SequenceInput[] => [
  ev(user, base, T0 - 5 * DAY, 'login', { deviceId: 'old' }),
  ev(user, base + 1, T0, 'login', { deviceId: 'new' }),
  ev(user, base + 2, T0 + MIN, 'payment', { amount: 900 }),
];

function stage(states: MemorySequenceStore): SequenceStageDeps & { recorded: SequenceAlert[] } {
  const ids = new Set<string>();
  const recorded: SequenceAlert[] = [];
  return {
    states,
    recorded,
    alerts: {
      async putSequenceAlert(alert) {
        if (ids.has(alert.id)) return false;
        ids.add(alert.id);
        recorded.push(alert);
        return true;
      },
    },
    now: () => T0 + 2 * MIN,
    delayMs: 10 * MIN,
  };
}

const stateKey = (unit: SequenceKeyBatch): SequenceStateKey => ({ topic: group.topic, keyField: group.keyField, key: unit.key });

describe('the sequence stage', () => {
  it('reads a batch of 250 keys in three readMany calls and applies each key on what was read, with no read of its own', async () => {
    const states = new MemorySequenceStore();
    const deps = stage(states);
    const units: SequenceKeyBatch[] = Array.from({ length: 250 }, (_, i) => ({ group, key: `u${i}`, inputs: takeover(`u${i}`) }));
    let singleReads = 0;
    const read = states.read.bind(states);
    states.read = async (key) => {
      singleReads++;
      return read(key);
    };
    const chunks = readStates(units, states);
    expect(chunks.map((c) => c.batches.length)).toEqual([MAX_READ_MANY, MAX_READ_MANY, 50]);
    expect(states.readManyCalls).toBe(3);
    const outcomes = await Promise.all(chunks.flatMap((c) => c.batches.map(async (unit, i) => applySequenceKey(unit, deps, (await c.read)[i]))));
    // The in-memory readMany answers through read; the stage itself read nothing more.
    expect(singleReads).toBe(250);
    expect(outcomes.every((o) => o.writes === 1 && o.alerts === 1 && o.conflicts === 0)).toBe(true);
    expect(deps.recorded).toHaveLength(250);
    expect(new Set(deps.recorded.map((a) => a.key)).size).toBe(250);
  });

  it('loses the write of a state read ahead and written over meanwhile, reads that key alone, and records the alert once', async () => {
    const states = new MemorySequenceStore();
    const deps = stage(states);
    const mine: SequenceKeyBatch = { group, key: 'u1', inputs: takeover('u1') };
    const [chunk] = readStates([mine, { group, key: 'u2', inputs: takeover('u2') }], states);
    const ahead = (await chunk!.read)[0]!;
    expect(ahead.version).toBe(0);
    // Another invocation (a retry racing its first attempt) applies the same events first.
    const racer = await applySequenceKey(mine, deps);
    expect(racer).toMatchObject({ writes: 1, alerts: 1 });
    const reads: SequenceStateKey[] = [];
    const read = states.read.bind(states);
    states.read = async (key) => {
      reads.push(key);
      return read(key);
    };
    const manyBefore = states.readManyCalls;
    const outcome = await applySequenceKey(mine, deps, ahead);
    // The alert put of the stale round is refused; the re-read finds every event applied.
    expect(outcome).toEqual({ alerts: 0, matches: 1, writes: 0, conflicts: 1 });
    expect(reads).toEqual([stateKey(mine)]);
    expect(states.readManyCalls).toBe(manyBefore);
    expect(deps.recorded.filter((a) => a.key === 'u1')).toHaveLength(1);
    expect((await states.read(stateKey(mine))).version).toBe(1);
  });

  it('gives the read error to every key of the chunk that failed, and no other', async () => {
    const states = new MemorySequenceStore();
    const units: SequenceKeyBatch[] = Array.from({ length: 150 }, (_, i) => ({ group, key: `u${i}`, inputs: takeover(`u${i}`) }));
    let call = 0;
    const readMany = states.readMany.bind(states);
    states.readMany = async (keys) => {
      if (call++ === 0) throw new TransientStoreError('throttled');
      return readMany(keys);
    };
    const [first, second] = readStates(units, states);
    await expect(first!.read).rejects.toThrow(TransientStoreError);
    expect(await second!.read).toHaveLength(50);
  });
});

describe('interleave', () => {
  it('keeps both orders and spreads the shorter list evenly', () => {
    expect(interleave<number | string>([1, 2, 3, 4], ['a', 'b'])).toEqual([1, 'a', 2, 3, 'b', 4]);
    expect(interleave([1, 2], [])).toEqual([1, 2]);
    expect(interleave<string>([], ['a', 'b'])).toEqual(['a', 'b']);
    const out = interleave<number | string>(Array.from({ length: 300 }, (_, i) => i), Array.from({ length: 100 }, (_, i) => `s${i}`));
    expect(out).toHaveLength(400);
    expect(out.filter((x) => typeof x === 'number')).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // No run of the longer list longer than its ratio allows.
    const firstS = out.findIndex((x) => typeof x === 'string');
    expect(firstS).toBeLessThanOrEqual(1);
  });
});

/** A DynamoDB client that answers BatchGetItem from a script: per call, which keys to leave unprocessed. */
function scriptedClient(items: Map<string, StoredSequenceState>, leave: (call: number, pks: string[]) => string[]) {
  const calls: string[][] = [];
  const client = {
    async send(command: { input: any }) {
      const [table, request] = Object.entries(command.input.RequestItems as Record<string, { Keys: { pk: { S: string } }[] }>)[0]!;
      const pks = request.Keys.map((k) => k.pk.S);
      calls.push(pks);
      const unprocessed = new Set(leave(calls.length - 1, pks));
      const responses = pks
        .filter((pk) => !unprocessed.has(pk) && items.has(pk))
        .map((pk) => ({ pk: { S: pk }, body: { S: JSON.stringify(items.get(pk)!.state) }, version: { N: String(items.get(pk)!.version) } }));
      return { Responses: { [table]: responses }, ...(unprocessed.size > 0 ? { UnprocessedKeys: { [table]: { Keys: [...unprocessed].map((pk) => ({ pk: { S: pk }, sk: { S: 'state' } })) } } } : {}) };
    },
  };
  return { client: client as unknown as DynamoDBClient, calls };
}

describe('DynamoSequenceStore.readMany', () => {
  const key = (k: string): SequenceStateKey => ({ topic: 'user_events', keyField: 'userId', key: k });
  const stored = (version: number): StoredSequenceState => ({ state: { ...emptyKeyState(), marks: { '0': [version, 1] }, maxTime: 1 }, version });

  it('asks again for the keys left unprocessed, only those, and answers every key in order', async () => {
    const items = new Map([[sequencePk(key('a')), stored(3)], [sequencePk(key('c')), stored(7)]]);
    const { client, calls } = scriptedClient(items, (call, pks) => (call === 0 ? pks.slice(1) : call === 1 ? pks.slice(1) : []));
    const pauses: number[] = [];
    const store = new DynamoSequenceStore(client, 'state', { sleep: async (ms) => void pauses.push(ms) });
    const out = await store.readMany([key('a'), key('b'), key('c'), key('a')]);
    expect(out.map((s) => s.version)).toEqual([3, 0, 7, 3]);
    // A key named twice is asked once; each round asks only what the last left.
    expect(calls).toEqual([[sequencePk(key('a')), sequencePk(key('b')), sequencePk(key('c'))], [sequencePk(key('b')), sequencePk(key('c'))], [sequencePk(key('c'))]]);
    expect(pauses).toHaveLength(2);
    expect(pauses[1]!).toBeGreaterThan(pauses[0]!);
    // Each answer is its own copy.
    out[0]!.state.maxTime = -5;
    expect(out[3]!.state.maxTime).toBe(1);
  });

  it('throws TransientStoreError once its rounds are spent with keys still unprocessed', async () => {
    const { client, calls } = scriptedClient(new Map(), (_call, pks) => pks.slice(0, 1));
    const store = new DynamoSequenceStore(client, 'state', { maxReadRounds: 3, sleep: async () => {} });
    await expect(store.readMany([key('a'), key('b')])).rejects.toThrow(TransientStoreError);
    expect(calls).toHaveLength(3);
  });

  it(`refuses more than ${MAX_READ_MANY} keys before asking anything`, async () => {
    const { client, calls } = scriptedClient(new Map(), () => []);
    const store = new DynamoSequenceStore(client, 'state');
    await expect(store.readMany(Array.from({ length: MAX_READ_MANY + 1 }, (_, i) => key(`u${i}`)))).rejects.toThrow(RangeError);
    expect(calls).toHaveLength(0);
  });
});
