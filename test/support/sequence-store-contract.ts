/** The contract both SequenceStateStore adapters honour (DynamoDB Local and in memory). */
import { describe, expect, it } from 'vitest';
import { MAX_READ_MANY, type SequenceStateStore } from '../../lib/sequences/ports.ts';
import { emptyKeyState, type KeyState } from '../../lib/sequences/state.ts';

/** Expiries in the future: DynamoDB Local deletes expired items within seconds. */
const LATER = Date.now() + 10 * 86_400_000;
const KEY = { topic: 'user_events', keyField: 'userId', key: 'u-1' };

function stateWith(offset: number): KeyState {
  return { ...emptyKeyState(), marks: { '0': [offset, 1_000 + offset] }, maxTime: 1_000 + offset, history: { deviceId: [{ v: 'd', at: [{ t: 1_000, p: 0, o: offset }] }] } };
}

export function sequenceStoreContract(name: string, make: () => Promise<{ store: SequenceStateStore; expiresAt: (key: typeof KEY) => Promise<number | undefined> }>): void {
  describe(`SequenceStateStore contract: ${name}`, () => {
    it('reads an absent key as the empty state at version 0', async () => {
      const { store } = await make();
      expect(await store.read(KEY)).toEqual({ state: emptyKeyState(), version: 0 });
    });

    it('writes only on the version read, and reads back what it wrote with the next version and its expiry', async () => {
      const { store, expiresAt } = await make();
      expect(await store.write(KEY, stateWith(1), 0, LATER)).toBe(true);
      expect(await store.write(KEY, stateWith(9), 0, LATER)).toBe(false);
      expect(await store.read(KEY)).toEqual({ state: stateWith(1), version: 1 });
      expect(await store.write(KEY, stateWith(2), 1, LATER + 1_500)).toBe(true);
      expect(await store.write(KEY, stateWith(3), 1, LATER + 1_500)).toBe(false);
      expect(await store.read(KEY)).toEqual({ state: stateWith(2), version: 2 });
      expect(await expiresAt(KEY)).toBe(Math.ceil((LATER + 1_500) / 1000));
    });

    it('lets exactly one of two racing writers of one version win', async () => {
      const { store } = await make();
      const results = await Promise.all([store.write(KEY, stateWith(1), 0, LATER), store.write(KEY, stateWith(2), 0, LATER)]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.read(KEY)).version).toBe(1);
    });

    it('keeps keys of another field or topic apart', async () => {
      const { store } = await make();
      await store.write(KEY, stateWith(1), 0, LATER);
      expect((await store.read({ ...KEY, keyField: 'deviceId' })).version).toBe(0);
      expect((await store.read({ ...KEY, topic: 'other' })).version).toBe(0);
      expect((await store.read({ ...KEY, key: 'u-2' })).version).toBe(0);
    });

    it('reads many keys at once as one by one, in the order asked, absent keys empty at version 0', async () => {
      const { store } = await make();
      const other = { ...KEY, key: 'u-2' };
      const absent = { ...KEY, keyField: 'deviceId' };
      await store.write(KEY, stateWith(1), 0, LATER);
      await store.write(other, stateWith(5), 0, LATER);
      await store.write(other, stateWith(6), 1, LATER);
      const many = await store.readMany([absent, other, KEY]);
      expect(many).toEqual([await store.read(absent), await store.read(other), await store.read(KEY)]);
      expect(many.map((s) => s.version)).toEqual([0, 2, 1]);
      expect(await store.readMany([])).toEqual([]);
      // What was read is the version a write must name.
      expect(await store.write(other, stateWith(7), many[1]!.version, LATER)).toBe(true);
    });

    it('answers a key named twice twice, each answer its own copy', async () => {
      const { store } = await make();
      await store.write(KEY, stateWith(1), 0, LATER);
      const [a, b] = await store.readMany([KEY, KEY]);
      expect(a).toEqual({ state: stateWith(1), version: 1 });
      expect(b).toEqual(a);
      a!.state.maxTime = -1;
      expect(b!.state.maxTime).toBe(stateWith(1).maxTime);
    });

    it(`reads ${MAX_READ_MANY} keys in one call and refuses more`, async () => {
      const { store } = await make();
      const keys = Array.from({ length: MAX_READ_MANY }, (_, i) => ({ ...KEY, key: `u-${i}` }));
      await store.write(keys[MAX_READ_MANY - 1]!, stateWith(3), 0, LATER);
      const many = await store.readMany(keys);
      expect(many).toHaveLength(MAX_READ_MANY);
      expect(many.filter((s) => s.version === 1)).toEqual([{ state: stateWith(3), version: 1 }]);
      expect(many[MAX_READ_MANY - 1]!.version).toBe(1);
      await expect(store.readMany([...keys, { ...KEY, key: 'one-more' }])).rejects.toThrow(RangeError);
    });
  });
}
