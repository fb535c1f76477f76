/**
 * The contract every set of store adapters honours, run against the DynamoDB adapters (on DynamoDB
 * Local) and the in-memory ones alike: what the engine relies on from storage, observed through
 * the ports, plus a probe per adapter set to read back what was stored.
 */
import { describe, expect, it } from 'vitest';
import { isDuePage, UnclosableWindowError, type AlertStore, type CloserStore, type DueEntry, type DueWindow, type EarlyAlert, type StoredAlert } from '../../lib/closer/ports.ts';
import type { SideRecord } from '../../lib/ingest/quarantine.ts';
import { MAX_CANDIDATES } from '../../lib/store/bounds.ts';
import { RejectedWriteError } from '../../lib/store/errors.ts';
import type { DuePageStore, SideOutputStore, WatermarkStore, WindowStore, WindowWrite, WindowWriteResult } from '../../lib/store/ports.ts';
import { DUE_SHARDS, duePageShardOf } from '../../lib/store/tables.ts';
import { HyperLogLog } from '../../lib/windows/hll.ts';

/** A stored window as the probe reads it: sets sorted, so both adapters compare equal. */
export interface ProbedWindow {
  slots: Record<string, number | (number | string)[]>;
  marks: Record<string, number>;
  closed: boolean;
  ttl: number;
  /** Not finished by the closer (its own due entry, or listed on a due page and not finished). */
  due: boolean;
}

export interface ContractStores {
  windows: WindowStore;
  duePages: DuePageStore;
  watermarks: WatermarkStore;
  sideOutput: SideOutputStore;
  closer: CloserStore;
  alerts: AlertStore;
  probe: {
    window(pipeline: string, key: string, windowStart: number): Promise<ProbedWindow | undefined>;
    /** Side-output entries as "<kind>#<topic>-<partition>@<offset>#<pipeline>", sorted. */
    sideOutput(): Promise<string[]>;
    alertExists(id: string): Promise<boolean>;
    /** The alert record as stored, undefined when there is none. */
    alert(id: string): Promise<StoredAlert | undefined>;
    resultLevel(pipeline: string, key: string, windowStart: number): Promise<string | undefined>;
    setAsideReason(pipeline: string, key: string, windowStart: number): Promise<string | undefined>;
  };
}

/** Makes a fresh, empty set of stores whose clock reads `now()`. */
export type ContractFactory = (options: { retentionMs: number; now: () => number }) => Promise<ContractStores>;

const RETENTION = 7 * 86_400_000;
const NOW = Date.parse('2026-12-01T09:00:00Z');

const write = (over: Partial<WindowWrite> = {}): WindowWrite => ({
  pipeline: 'iot',
  key: 'sensor-1',
  windowStart: NOW - 60_000,
  windowEnd: NOW,
  slots: [
    { name: 'count', op: 'add', value: 2 },
    { name: 'temperatureMin', op: 'min', value: 3.5 },
    { name: 'seen', op: 'set', value: ['a', 'b'] },
  ],
  marks: [{ partitionId: 'iot_telemetry-0', below: 10, setTo: 12 }],
  ...over,
});

const side = (over: Partial<SideRecord> = {}): SideRecord => ({
  kind: 'quarantine',
  topic: 't',
  partition: 0,
  offset: 5,
  reason: 'invalid JSON',
  field: 'value',
  size: 3,
  sha256: 'ab',
  sample: 'x{',
  ...over,
});

/** A write's answer with its stored window's sets sorted (storage keeps sets in no order). */
function sortedAnswer(result: WindowWriteResult) {
  if (!result.stored) return result;
  const slots = Object.fromEntries(Object.entries(result.stored.slots).map(([k, v]) => [k, Array.isArray(v) ? [...v].sort() : v]));
  return { ...result, stored: { ...result.stored, slots } };
}

export function storeContract(name: string, make: ContractFactory): void {
  const fresh = () => make({ retentionMs: RETENTION, now: () => NOW });

  describe(`store contract: ${name}`, () => {
    it('applies a window write with its marks, merging every kind of slot', async () => {
      const s = await fresh();
      // The answer says whether this write made the item: the batch lists those on due pages.
      expect(await s.windows.write(write())).toEqual({ applied: true, created: true });
      const more = write({
        slots: [
          { name: 'count', op: 'add', value: 3 },
          { name: 'temperatureMin', op: 'min', value: -1 },
          { name: 'seen', op: 'set', value: ['b', 'c'] },
        ],
        marks: [{ partitionId: 'iot_telemetry-0', below: 13, setTo: 20 }, { partitionId: 'iot_telemetry-1', below: 0, setTo: 4 }],
      });
      expect(await s.windows.write(more)).toEqual({ applied: true, created: false });
      expect(await s.probe.window('iot', 'sensor-1', NOW - 60_000)).toEqual({
        slots: { count: 5, temperatureMin: [-1, 3.5], seen: ['a', 'b', 'c'] },
        marks: { 'iot_telemetry-0': 20, 'iot_telemetry-1': 4 },
        closed: false,
        ttl: Math.ceil((NOW + RETENTION) / 1000),
        due: true,
      });
    });

    it('refuses a write whose partition mark is not below its first offset, answering with the marks held', async () => {
      const s = await fresh();
      await s.windows.write(write());
      const refused = await s.windows.write(write({ marks: [{ partitionId: 'iot_telemetry-0', below: 12, setTo: 15 }] }));
      expect(refused).toEqual({ applied: false, closed: false, marks: new Map([['iot_telemetry-0', 12]]) });
      expect((await s.probe.window('iot', 'sensor-1', NOW - 60_000))!.slots.count).toBe(2);
    });

    it('compare-and-sets on the marks seen: equal applies, moved refuses, null means absent', async () => {
      const s = await fresh();
      await s.windows.write(write());
      const cas = (equals: number | null, partitionId = 'iot_telemetry-0') =>
        s.windows.write(write({ slots: [{ name: 'count', op: 'add', value: 1 }], marks: [{ partitionId, equals, setTo: 30 }] }));
      expect(await cas(11)).toMatchObject({ applied: false });
      expect(await cas(null)).toMatchObject({ applied: false });
      expect(await cas(12)).toEqual({ applied: true, created: false });
      expect(await cas(null, 'iot_telemetry-9')).toEqual({ applied: true, created: false });
      expect((await s.probe.window('iot', 'sensor-1', NOW - 60_000))!).toMatchObject({ slots: { count: 4 }, marks: { 'iot_telemetry-0': 30, 'iot_telemetry-9': 30 } });
    });

    it('refuses every write to a closed window, saying it is closed', async () => {
      const s = await fresh();
      await s.windows.write(write());
      const due: DueWindow = { pipeline: 'iot', key: 'sensor-1', windowStart: NOW - 60_000, windowEnd: NOW };
      await s.closer.close(due, NOW);
      const refused = await s.windows.write(write({ marks: [{ partitionId: 'iot_telemetry-0', below: 100, setTo: 101 }] }));
      expect(refused).toEqual({ applied: false, closed: true, marks: new Map([['iot_telemetry-0', 12]]) });
    });

    it('rejects for good a write storage cannot take (an empty set), changing nothing', async () => {
      const s = await fresh();
      await expect(s.windows.write(write({ slots: [{ name: 'seen', op: 'set', value: [] }] }))).rejects.toBeInstanceOf(RejectedWriteError);
      expect(await s.probe.window('iot', 'sensor-1', NOW - 60_000)).toBeUndefined();
    });

    it('keeps a distinct slot exact up to its cap, then a sketch beside the values it had (filled to the cap)', async () => {
      const s = await fresh();
      const seen = (value: string[], below: number) =>
        write({ slots: [{ name: 'seen', op: 'set', value, exactUpTo: 3 }], marks: [{ partitionId: 'iot_telemetry-0', below, setTo: below + 1 }] });
      expect(await s.windows.write(seen(['a', 'b'], 0))).toMatchObject({ applied: true });
      // 2 stored + 2 sent > 3, but 'b' is stored: still exact at 3.
      expect(await s.windows.write(seen(['b', 'c'], 2))).toMatchObject({ applied: true });
      expect((await s.probe.window('iot', 'sensor-1', NOW - 60_000))!.slots.seen).toEqual(['a', 'b', 'c']);
      expect(await s.windows.write(seen(['c', 'd', 'e'], 4))).toMatchObject({ applied: true });
      expect(await s.windows.write(seen(['f'], 6))).toMatchObject({ applied: true });
      expect((await s.probe.window('iot', 'sensor-1', NOW - 60_000))!.slots.seen).toEqual(['a', 'b', 'c']);
      const { window } = await s.closer.close({ pipeline: 'iot', key: 'sensor-1', windowStart: NOW - 60_000, windowEnd: NOW }, NOW + 1);
      const stored = window.slots.seen as { values: string[]; sketch: Uint8Array };
      expect([...stored.values].sort()).toEqual(['a', 'b', 'c']);
      expect(HyperLogLog.fromBytes(stored.sketch).estimate()).toBe(6);
    });

    it('keeps at most MAX_CANDIDATES min/max candidates: a full set gives way to a new extreme', async () => {
      const s = await fresh();
      // 20, 19, ..., 1: each a new minimum; the 17th (4) finds the set full and replaces it.
      for (let i = 0; i < 20; i++) {
        const w = write({ slots: [{ name: 'temperatureMin', op: 'min', value: 20 - i }], marks: [{ partitionId: 'iot_telemetry-0', below: i, setTo: i }] });
        expect(await s.windows.write(w)).toMatchObject({ applied: true });
        // A value that is no new extreme adds nothing to a full set.
        if (i === MAX_CANDIDATES - 1) {
          const no = write({ slots: [{ name: 'temperatureMin', op: 'min', value: 50 }], marks: [{ partitionId: 'iot_telemetry-1', below: 0, setTo: 0 }] });
          expect(await s.windows.write(no)).toMatchObject({ applied: true });
        }
      }
      expect((await s.probe.window('iot', 'sensor-1', NOW - 60_000))!.slots.temperatureMin).toEqual([1, 2, 3, 4]);
    });

    it('keeps a window written long after it ended for a whole retention from the write', async () => {
      const s = await fresh();
      const old = NOW - 30 * 86_400_000;
      await s.windows.write(write({ windowStart: old - 60_000, windowEnd: old }));
      expect((await s.probe.window('iot', 'sensor-1', old - 60_000))!.ttl).toBe(Math.ceil((NOW + RETENTION) / 1000));
    });

    it('raises partition marks only when their max event time grows, and reads them back', async () => {
      const s = await fresh();
      await s.watermarks.advance({ topic: 'iot_telemetry', partition: 0, maxEventTime: 1_000, lastOffset: 9 });
      await s.watermarks.advance({ topic: 'iot_telemetry', partition: 0, maxEventTime: 900, lastOffset: 19 });
      await s.watermarks.advance({ topic: 'iot_telemetry', partition: 1, maxEventTime: 500, lastOffset: 3 });
      const marks = await s.watermarks.read([
        { topic: 'iot_telemetry', partition: 0 },
        { topic: 'iot_telemetry', partition: 1 },
        { topic: 'iot_telemetry', partition: 7 },
      ]);
      expect(marks).toEqual(
        new Map([
          ['iot_telemetry-0', { maxEventTime: 1_000, lastOffset: 9 }],
          ['iot_telemetry-1', { maxEventTime: 500, lastOffset: 3 }],
        ]),
      );
      await s.watermarks.advance({ topic: 'iot_telemetry', partition: 0, maxEventTime: 1_001, lastOffset: 25 });
      const listed = (await s.closer.partitionMarks('iot_telemetry')).sort((a, b) => a.partition - b.partition);
      expect(listed).toEqual([
        { partition: 0, maxEventTime: 1_001, advancedAt: NOW },
        { partition: 1, maxEventTime: 500, advancedAt: NOW },
      ]);
      expect(await s.closer.partitionMarks('user_events')).toEqual([]);
    });

    it('lists due pages by shard up to a watermark, index page by index page, until deleted; a rewrite overwrites', async () => {
      const s = await fresh();
      const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
      const end = (i: number) => NOW + (i % 10 + 1) * 60_000;
      for (const [i, key] of keys.entries()) {
        const created = await s.windows.write(write({ key, windowStart: end(i) - 60_000, windowEnd: end(i), marks: [{ partitionId: 'p-0', below: i, setTo: i }] }));
        expect(created).toEqual({ applied: true, created: true });
      }
      // A window write makes no due entry of its own: the batch lists it on a page.
      const upTo = NOW + 5 * 60_000;
      const listAll = async () => {
        const found: DueEntry[] = [];
        for (let shard = 0; shard < DUE_SHARDS; shard++) {
          let cursor: Record<string, unknown> | undefined;
          do {
            const page = await s.closer.dueWindows('iot', shard, upTo, 3, cursor);
            expect(page.windows.length).toBeLessThanOrEqual(3);
            for (const e of page.windows) expect(isDuePage(e) ? `iot#${shard}` : duePageShardOf('iot', e.key)).toBe(`iot#${shard}`);
            found.push(...page.windows);
            cursor = page.next;
          } while (cursor);
        }
        return found;
      };
      expect(await listAll()).toEqual([]);
      const pageOf = (i: number, batchId: string, chunk = 0) => ({
        pipeline: 'iot',
        dueShard: duePageShardOf('iot', keys[i]!),
        windowEnd: end(i),
        batchId,
        chunk,
        windows: keys.map((key, j) => ({ key, windowStart: end(j) - 60_000 })).filter((_, j) => end(j) === end(i)),
      });
      // Pages for every end, twice for one (same id: an overwrite), and a second chunk for another.
      await s.duePages.put(Array.from({ length: 10 }, (_, i) => pageOf(i, 'b1')));
      await s.duePages.put([pageOf(0, 'b1'), pageOf(1, 'b1', 1)]);
      const listed = await listAll();
      expect(listed.every(isDuePage)).toBe(true);
      expect(listed.map((e) => (e.windowEnd - NOW) / 60_000)).toEqual([1, 2, 2, 3, 4, 5]);
      const windowsOf = async (e: DueEntry) => (isDuePage(e) ? (await s.closer.readDuePage(e))!.map((w) => `${w.key}@${w.windowEnd - NOW}`).sort() : []);
      expect(await windowsOf(listed[0]!)).toEqual(['k0@60000', 'k10@60000', 'k20@60000', 'k30@60000']);
      // Deleted: out of the index, and its read says it is gone.
      await s.closer.deleteDuePage(listed[0] as Extract<DueEntry, { page: unknown }>);
      expect(await s.closer.readDuePage(listed[0] as Extract<DueEntry, { page: unknown }>)).toBeUndefined();
      expect((await listAll()).map((e) => (e.windowEnd - NOW) / 60_000)).toEqual([2, 2, 3, 4, 5]);
      // The windows themselves were never in the index, and are not finished.
      expect((await s.probe.window('iot', 'k0', end(0) - 60_000))!).toMatchObject({ closed: false, due: true });
    });

    it('tells a finished window from one a run closed and did not finish', async () => {
      const s = await fresh();
      await s.windows.write(write());
      const due: DueWindow = { pipeline: 'iot', key: 'sensor-1', windowStart: NOW - 60_000, windowEnd: NOW };
      await s.closer.close(due, NOW);
      expect((await s.closer.read(due))!.finished).toBeUndefined();
      expect((await s.probe.window('iot', 'sensor-1', NOW - 60_000))!).toMatchObject({ closed: true, due: true });
      await s.closer.finish(due, undefined, NOW + 1);
      expect((await s.closer.read(due))!.finished).toBe(true);
      await s.windows.write(write({ key: 'quiet' }));
      const quiet = { ...due, key: 'quiet' };
      expect(await s.closer.closeQuietly(quiet, (await s.closer.read(quiet))!.version!, NOW)).toBe('closed');
      expect((await s.closer.read(quiet))!.finished).toBe(true);
    });

    it('closes a window once, returning its final content both times; finishing needs it closed', async () => {
      const s = await fresh();
      await s.windows.write(write());
      const due: DueWindow = { pipeline: 'iot', key: 'sensor-1', windowStart: NOW - 60_000, windowEnd: NOW };
      await expect(s.closer.finish(due, undefined, NOW)).rejects.toThrow();
      const first = await s.closer.close(due, NOW + 5);
      const again = await s.closer.close(due, NOW + 9);
      expect(first.closedNow).toBe(true);
      expect(again.closedNow).toBe(false);
      expect(first.window).toMatchObject({ pipeline: 'iot', key: 'sensor-1', windowStart: NOW - 60_000, windowEnd: NOW, closedAt: NOW + 5 });
      expect(again.window.closedAt).toBe(NOW + 5);
      const sorted = (w: typeof first.window) => Object.fromEntries(Object.entries(w.slots).map(([k, v]) => [k, Array.isArray(v) ? [...v].sort() : v]));
      expect(sorted(first.window)).toEqual({ count: 2, temperatureMin: [3.5], seen: ['a', 'b'] });
      expect(sorted(again.window)).toEqual(sorted(first.window));
      await s.closer.finish(due, undefined, NOW);
      expect((await s.probe.window('iot', 'sensor-1', NOW - 60_000))!).toMatchObject({ closed: true, due: false });
      await expect(s.closer.close({ ...due, key: 'nobody' }, NOW)).rejects.toThrow(UnclosableWindowError);
    });

    it('closes an unchanged window and takes it out of the due index in one write, with its verdict', async () => {
      const s = await fresh();
      await s.windows.write(write());
      const due: DueWindow = { pipeline: 'iot', key: 'sensor-1', windowStart: NOW - 60_000, windowEnd: NOW };
      const read = (await s.closer.read(due))!;
      expect(read).toMatchObject({ closedAt: undefined, slots: { count: 2 } });
      expect(read.version).toEqual(expect.any(Number));
      expect(await s.closer.closeQuietly(due, read.version!, NOW + 5, { level: 'HIGH', evaluatedAt: NOW + 5 })).toBe('closed');
      expect((await s.probe.window('iot', 'sensor-1', NOW - 60_000))!).toMatchObject({ closed: true, due: false });
      expect(await s.probe.resultLevel('iot', 'sensor-1', NOW - 60_000)).toBe('HIGH');
      // Closed before: the long way (close answers with the content, finish is allowed).
      expect(await s.closer.closeQuietly(due, read.version!, NOW + 6)).toBe('closed-before');
      expect((await s.closer.close(due, NOW + 7)).closedNow).toBe(false);
      expect(await s.closer.read({ ...due, key: 'nobody' })).toBeUndefined();
      await expect(s.closer.closeQuietly({ ...due, key: 'nobody' }, 1, NOW)).rejects.toThrow(UnclosableWindowError);
    });

    it('refuses a one-write close after a write it did not read, and closes on a fresh read', async () => {
      const s = await fresh();
      await s.windows.write(write());
      const due: DueWindow = { pipeline: 'iot', key: 'sensor-1', windowStart: NOW - 60_000, windowEnd: NOW };
      const stale = (await s.closer.read(due))!;
      // A late event lands between the read and the close.
      expect(await s.windows.write(write({ marks: [{ partitionId: 'iot_telemetry-1', below: 5, setTo: 6 }] }))).toMatchObject({ applied: true });
      expect(await s.closer.closeQuietly(due, stale.version!, NOW + 5)).toBe('changed');
      expect((await s.probe.window('iot', 'sensor-1', NOW - 60_000))!).toMatchObject({ closed: false, due: true, slots: { count: 4 } });
      const fresh_ = (await s.closer.read(due))!;
      expect(fresh_.version).not.toBe(stale.version);
      expect(await s.closer.closeQuietly(due, fresh_.version!, NOW + 6)).toBe('closed');
      // A refused write (a mark not below) changes nothing, so it does not move the version either.
      expect(await s.probe.resultLevel('iot', 'sensor-1', NOW - 60_000)).toBeUndefined();
    });

    it('records the verdict when it finishes a window the long way', async () => {
      const s = await fresh();
      await s.windows.write(write());
      const due: DueWindow = { pipeline: 'iot', key: 'sensor-1', windowStart: NOW - 60_000, windowEnd: NOW };
      await s.closer.close(due, NOW + 5);
      await s.closer.finish(due, { level: 'LOW', evaluatedAt: NOW + 5 }, NOW + 5);
      expect(await s.probe.resultLevel('iot', 'sensor-1', NOW - 60_000)).toBe('LOW');
      expect((await s.probe.window('iot', 'sensor-1', NOW - 60_000))!).toMatchObject({ closed: true, due: false });
    });

    it('sets a window aside: out of the due index, closed to writes, recorded with its reason', async () => {
      const s = await fresh();
      await s.windows.write(write());
      const due: DueWindow = { pipeline: 'iot', key: 'sensor-1', windowStart: NOW - 60_000, windowEnd: NOW };
      await s.closer.setAside(due, NOW + 1);
      await s.alerts.putSetAside({ ...due, reason: 'item too large', at: NOW + 1 });
      expect(await s.probe.window('iot', 'sensor-1', NOW - 60_000)).toMatchObject({ closed: true, due: false });
      expect(await s.windows.write(write({ marks: [{ partitionId: 'iot_telemetry-0', below: 100, setTo: 101 }] }))).toMatchObject({ applied: false, closed: true });
      expect(await s.probe.setAsideReason('iot', 'sensor-1', NOW - 60_000)).toBe('item too large');
      // A window no longer stored has nothing to set aside, and is not created.
      await s.closer.setAside({ ...due, key: 'gone' }, NOW);
      expect(await s.probe.window('iot', 'gone', NOW - 60_000)).toBeUndefined();
    });

    it('never lowers a pipeline watermark', async () => {
      const s = await fresh();
      expect(await s.closer.saveWatermark('iot', 1_000)).toBe(1_000);
      expect(await s.closer.saveWatermark('iot', 900)).toBe(1_000);
      expect(await s.closer.saveWatermark('iot', 1_100)).toBe(1_100);
      expect(await s.closer.saveWatermark('risk', 5)).toBe(5);
    });

    it('records an alert once per id', async () => {
      const s = await fresh();
      const alert = { id: 'iot-1-abc', pipeline: 'iot', rule: 'r', alertType: 'sensor_out_of_range', level: 'HIGH', key: 'sensor-1', windowStart: 1, windowEnd: 2, features: { rejected: 4 }, raisedAt: NOW };
      expect(await s.alerts.putAlert(alert)).toBe(true);
      expect(await s.alerts.putAlert({ ...alert, raisedAt: NOW + 1 })).toBe(false);
      expect(await s.probe.alertExists('iot-1-abc')).toBe(true);
      expect(await s.probe.alertExists('iot-1-other')).toBe(false);
    });

    it('answers a write that asks with the window as stored: after it when applied, as found when refused', async () => {
      const s = await fresh();
      const stored = (slots: Record<string, unknown>, closedAt?: number) => ({ pipeline: 'iot', key: 'sensor-1', windowStart: NOW - 60_000, windowEnd: NOW, closedAt, slots, version: expect.any(Number) });
      expect(sortedAnswer(await s.windows.write(write({ returnStored: true })))).toEqual({ applied: true, created: true, stored: stored({ count: 2, temperatureMin: [3.5], seen: ['a', 'b'] }) });
      // A duplicate: refused, with the marks and the stored window (what earlier deliveries made it).
      expect(sortedAnswer(await s.windows.write(write({ returnStored: true })))).toEqual({
        applied: false,
        closed: false,
        marks: new Map([['iot_telemetry-0', 12]]),
        stored: stored({ count: 2, temperatureMin: [3.5], seen: ['a', 'b'] }),
      });
      const more = write({ returnStored: true, slots: [{ name: 'count', op: 'add', value: 1 }], marks: [{ partitionId: 'iot_telemetry-0', equals: 12, setTo: 14 }] });
      expect(sortedAnswer(await s.windows.write(more))).toEqual({ applied: true, created: false, stored: stored({ count: 3, temperatureMin: [3.5], seen: ['a', 'b'] }) });
      // Without asking, nothing but the verdict (the answer is the item: asked for only when needed).
      expect(await s.windows.write(write({ marks: [{ partitionId: 'iot_telemetry-0', below: 20, setTo: 21 }] }))).toMatchObject({ applied: true });
    });

    it('records an early alert once, and the close completes it with its final features', async () => {
      const s = await fresh();
      const base = { pipeline: 'payments', rule: 'payments-spree', alertType: 'payment_spree', level: undefined, key: 'u1', windowStart: 1, windowEnd: 2 };
      const early: EarlyAlert = { ...base, id: 'payments-1-early', features: { count: 11 }, raisedAt: NOW, timing: 'early', firedAt: NOW, firedBy: { partitionId: 'user_events-3', offset: 41 } };
      expect(await s.alerts.putEarlyAlert(early)).toBe(true);
      expect(await s.alerts.putEarlyAlert({ ...early, features: { count: 12 }, firedAt: NOW + 1 })).toBe(false);
      expect(await s.probe.alert(early.id)).toEqual(early);
      // The close adds finalFeatures and closedAt (and a level the early record lacked), nothing else.
      expect(await s.alerts.putAlert({ ...base, level: 'HIGH', id: early.id, features: { count: 14 }, raisedAt: NOW + 60_000 })).toBe(true);
      const completed = { ...early, level: 'HIGH', finalFeatures: { count: 14 }, closedAt: NOW + 60_000 };
      expect(await s.probe.alert(early.id)).toEqual(completed);
      // A repeated close (a run that died before finishing) changes nothing.
      expect(await s.alerts.putAlert({ ...base, id: early.id, features: { count: 14 }, raisedAt: NOW + 120_000 })).toBe(false);
      expect(await s.probe.alert(early.id)).toEqual(completed);

      // Raised at close only: a new record, its features the final ones; an early put then finds it.
      expect(await s.alerts.putAlert({ ...base, id: 'payments-1-close', features: { count: 3 }, raisedAt: NOW })).toBe(true);
      expect(await s.alerts.putEarlyAlert({ ...early, id: 'payments-1-close' })).toBe(false);
      expect(await s.probe.alert('payments-1-close')).toEqual({ ...base, id: 'payments-1-close', features: { count: 3 }, raisedAt: NOW, timing: 'close', finalFeatures: { count: 3 }, closedAt: NOW });
      expect(await s.probe.alert('payments-1-none')).toBeUndefined();
    });

    it('reads a key\'s buckets in a range, oldest first, strongly consistent, with their due state and progress', async () => {
      const s = await fresh();
      const MIN = 60_000;
      const bucket = (start: number, count: number, offset: number): WindowWrite => ({
        pipeline: 'registrations',
        key: '10.0.0.1',
        windowStart: start,
        windowEnd: start + MIN,
        slots: [
          { name: 'registrations', op: 'add', value: count },
          { name: 'users', op: 'set', value: [`u${start}`], exactUpTo: 1000 },
        ],
        marks: [{ partitionId: 'user_registrations-0', below: offset, setTo: offset }],
        bucketOfSizeMs: 10 * MIN,
      });
      const B = NOW - 20 * MIN;
      for (const [i, m] of [0, 1, 3, 9, 12].entries()) expect((await s.windows.write(bucket(B + m * MIN, m + 1, i))).applied).toBe(true);
      // Another key and another pipeline are never read with it.
      await s.windows.write({ ...bucket(B + MIN, 5, 0), key: '10.0.0.2' });
      await s.windows.write({ ...bucket(B + MIN, 5, 0), pipeline: 'payments' });
      const read = await s.closer.buckets('registrations', '10.0.0.1', B + MIN, B + 9 * MIN);
      expect(read.map((b) => [(b.window.windowStart - B) / MIN, (b.window.windowEnd - B) / MIN, b.window.slots.registrations, b.due, b.evaluatedThrough])).toEqual([
        [1, 2, 2, true, undefined],
        [3, 4, 4, true, undefined],
        [9, 10, 10, true, undefined],
      ]);
      expect(await s.closer.buckets('registrations', '10.0.0.1', B + 4 * MIN, B + 8 * MIN)).toEqual([]);
      expect(await s.closer.buckets('registrations', 'nobody', B, NOW)).toEqual([]);
      // Progress: only on a closed bucket, never moved back; finishing takes it out of the due index.
      const due = { pipeline: 'registrations', key: '10.0.0.1', windowStart: B + 3 * MIN, windowEnd: B + 4 * MIN };
      await expect(s.closer.advanceBucket(due, B + 5 * MIN)).rejects.toThrow(/not closed/);
      await s.closer.close(due, NOW);
      await s.closer.advanceBucket(due, B + 6 * MIN);
      await s.closer.advanceBucket(due, B + 5 * MIN);
      let [third] = await s.closer.buckets('registrations', '10.0.0.1', B + 3 * MIN, B + 3 * MIN);
      expect([third!.window.closedAt, third!.due, third!.evaluatedThrough]).toEqual([NOW, true, B + 6 * MIN]);
      // Left due, it has its own entry, in its due pages' shard, so the page that listed it can go.
      const entries = await s.closer.dueWindows('registrations', Number(duePageShardOf('registrations', '10.0.0.1').split('#')[1]), NOW, 10);
      expect(entries.windows).toEqual([due]);
      await s.closer.finish(due, undefined, NOW);
      [third] = await s.closer.buckets('registrations', '10.0.0.1', B + 3 * MIN, B + 3 * MIN);
      expect(third!.due).toBe(false);
      // A write marked as a bucket is an ordinary window item otherwise (same marks protocol).
      expect((await s.windows.write(bucket(B, 1, 0))).applied).toBe(false);
    });

    it('keeps one alert record per group: only the record\'s own window completes it', async () => {
      const s = await fresh();
      const base = { id: 'registrations-g-1', pipeline: 'registrations', rule: 'r', alertType: 'suspicious_ip', level: undefined, key: 'ip', features: { registrations: 21 }, raisedAt: NOW };
      // An early record of window [5, 15); windows [2, 12) and [8, 18) of its group close and leave it alone.
      const early: EarlyAlert = { ...base, windowStart: 5, windowEnd: 15, timing: 'early', firedAt: NOW, firedBy: { partitionId: 'p-0', offset: 3 } };
      expect(await s.alerts.putEarlyAlert(early)).toBe(true);
      expect(await s.alerts.putEarlyAlert({ ...early, windowStart: 8, windowEnd: 18 })).toBe(false);
      expect(await s.alerts.putAlert({ ...base, windowStart: 2, windowEnd: 12, features: { registrations: 24 } })).toBe(false);
      expect(await s.probe.alert(base.id)).toEqual(early);
      expect(await s.alerts.putAlert({ ...base, windowStart: 5, windowEnd: 15, features: { registrations: 30 }, raisedAt: NOW + 1 })).toBe(true);
      expect(await s.alerts.putAlert({ ...base, windowStart: 8, windowEnd: 18, features: { registrations: 27 }, raisedAt: NOW + 2 })).toBe(false);
      expect(await s.probe.alert(base.id)).toEqual({ ...early, finalFeatures: { registrations: 30 }, closedAt: NOW + 1 });
    });

    it('keeps one side-output entry per record and kind, and one per pipeline for late records', async () => {
      const s = await fresh();
      await s.sideOutput.put([side(), side()]);
      await s.sideOutput.put([side()]);
      await s.sideOutput.put([side({ kind: 'late', pipeline: 'payments' }), side({ kind: 'late', pipeline: 'risk' })]);
      expect(await s.probe.sideOutput()).toEqual(['late#t-0@5#payments', 'late#t-0@5#risk', 'quarantine#t-0@5#']);
    });
  });
}
