/**
 * planBatch against a plain computation of the same thing, on generated batches: every record
 * parsed with the family's `parse`, lateness judged per partition, one map entry per
 * (pipeline, key, window) folded by the slot ops written out here, offsets and members as lists.
 * The planner folds inline into shared flat storage and keeps no events; what it answers (write
 * contents, offsets, members, contributions, re-folds, side records, stats, progress) must match.
 */
import { describe, expect, it } from 'vitest';
import { encodeKafkaEvent, type RecordInput } from '../../lib/codec/encode.ts';
import { decodeKafkaEvent, type DecodedRecord } from '../../lib/codec/kafka-event.ts';
import { slotWrites } from '../../lib/ingest/apply.ts';
import { contributionsOf, planBatch, refoldAbove, type PlanOptions } from '../../lib/ingest/plan.ts';
import { createRouter } from '../../lib/ingest/router.ts';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import type { Pipeline } from '../../lib/pipelines/pipeline.ts';
import { hopping } from '../../lib/pipelines/window.ts';
import type { Router } from '../../lib/ingest/router.ts';
import type { SlotWrite } from '../../lib/store/ports.ts';
import { rng } from '../support/records.ts';

const defaultRouter = createRouter(builtinPipelines);
/** The built-in pipelines with hopping windows of their size, one starting every fifth of it. */
const hoppingRouter = createRouter(builtinPipelines.map((p) => ({ ...p, window: hopping(p.window.sizeMs, { every: p.window.sizeMs / 5 }) })));
const T = Date.parse('2026-11-23T10:00:00Z');
const MIN = 60_000;


/** A batch of mixed topics, partitions interleaved, with bad, late, out-of-range and keyless records. */
function generate(seed: number, size: number): RecordInput[] {
  const random = rng(seed);
  const pick = <V>(xs: readonly V[]): V => xs[Math.floor(random() * xs.length)]!;
  const offsets = new Map<string, number>();
  const records: RecordInput[] = [];
  const users = 1 + Math.floor(random() * 12);
  for (let i = 0; i < size; i++) {
    const topic = pick(['user_events', 'user_events', 'user_registrations', 'iot_telemetry', 'unknown_topic']);
    const partition = Math.floor(random() * 3);
    const id = `${topic}-${partition}`;
    const offset = (offsets.get(id) ?? 100) + 1 + (random() < 0.1 ? 3 : 0);
    offsets.set(id, offset);
    // Mostly forward in time, sometimes far back (late for short windows), in ms or ISO.
    const t = T + Math.floor(random() * 40 * MIN) - (random() < 0.15 ? 30 * MIN : 0);
    const time = random() < 0.5 ? { timestamp: t } : { event_time: new Date(t).toISOString() };
    let value: unknown;
    const r = random();
    if (r < 0.03) value = '{not json';
    else if (r < 0.05) value = Buffer.alloc(0);
    else if (topic === 'user_events') {
      value = {
        user_id: random() < 0.5 ? Math.floor(random() * users) : `u${Math.floor(random() * users)}`,
        [random() < 0.8 ? 'action' : 'event_type']: pick(['login', 'payment', 'view', 'payment']),
        ...(random() < 0.7 ? { amount: random() < 0.8 ? Math.round(random() * 10_000) / 100 : '12.50' } : {}),
        ...(random() < 0.8 ? { device_id: random() < 0.5 ? Math.floor(random() * 4) : pick(['d-a', 'd-b', 'd-c']) } : {}),
        ...(random() < 0.8 ? { [random() < 0.5 ? 'city' : 'location_city']: pick(['Berlin', 'Paris', 'Lima', 'Lagos', 'Oslo']) } : {}),
        ...(random() < 0.02 ? { amount: 'lots' } : {}),
        ...time,
      };
    } else if (topic === 'user_registrations') {
      value = {
        user_id: Math.floor(random() * 50),
        ...(random() < 0.03 ? {} : { ip: pick(['10.0.0.1', '10.0.0.2', '203.0.113.66']) }),
        ...(random() < 0.5 ? { device_id: pick(['d1', 'd2']) } : {}),
        ...time,
      };
    } else {
      value = { device_id: `sensor-${Math.floor(random() * 4)}`, temperature: random() < 0.1 ? 150 : Math.round(random() * 600) / 10, humidity: pick([10, 55.5, '40', 120]), ...time };
    }
    // A tombstone now and then: encodeRecord sends a Buffer as is; null values need the raw record.
    records.push({ topic, partition, offset, value });
  }
  return records;
}

type Slot = Pipeline['slots'][number];

/** The plain computation: what planBatch must answer. */
/** The windows [start, start + size) with start a multiple of `advance` that hold t, oldest first (written out, not the spec's). */
function windowsHolding(t: number, size: number, advance: number): number[] {
  const starts: number[] = [];
  for (let start = Math.floor(t / advance) * advance - size + advance; start <= t; start += advance) starts.push(start);
  return starts;
}

function expected(partitions: DecodedRecord[][], o: PlanOptions, router: Router) {
  const aggregates = new Map<
    string,
    { pipeline: Pipeline; key: string; windowStart: number; values: (number | string[] | undefined)[]; events: number; rejected: number; ranges: { partitionId: string; first: number; last: number }[]; members: number[] }
  >();
  const side: { kind: string; offset: number; reason: string; pipeline?: string; key?: string; windowStart?: number }[] = [];
  const stats = { records: 0, valid: 0, quarantined: 0, filtered: 0, late: 0, alreadyApplied: 0 };
  const progress: { partitionId: string; firstOffset: number; firstPlannedOffset: number; lastOffset: number; offsets: number[]; eventTimes: number[] }[] = [];
  let valid = 0;
  for (const records of partitions) {
    if (records.length === 0) continue;
    const mark = o.lateness?.marks.get(records[0]!.partitionId);
    let seen = mark?.maxEventTime ?? -Infinity;
    const part = { partitionId: records[0]!.partitionId, firstOffset: records[0]!.offset, firstPlannedOffset: records[0]!.offset, lastOffset: records.at(-1)!.offset, offsets: [] as number[], eventTimes: [] as number[] };
    progress.push(part);
    for (const record of records) {
      stats.records++;
      if (record.offset <= (mark?.lastOffset ?? -1)) {
        stats.alreadyApplied++;
        part.firstPlannedOffset = record.offset + 1;
        continue;
      }
      const route = router.get(record.topic);
      const value = record.value;
      let event: { eventTime: number } | undefined;
      let reason: string | undefined;
      if (!route) reason = `no pipeline reads topic "${record.topic}"`;
      else if (value === undefined) reason = 'record has no value (tombstone)';
      else if (value.length > o.maxRecordBytes) reason = `value is ${value.length} bytes, over the ${o.maxRecordBytes}-byte limit`;
      else {
        let json: unknown;
        try {
          json = JSON.parse(value.toString('utf8'));
        } catch (err) {
          reason = `invalid JSON: ${(err as Error).message}`;
        }
        if (reason === undefined) {
          const parsed = route.family.parse(json);
          if (parsed.ok) event = parsed.event;
          else reason = parsed.reason;
        }
      }
      if (event === undefined) {
        stats.quarantined++;
        side.push({ kind: 'quarantine', offset: record.offset, reason: reason! });
        continue;
      }
      stats.valid++;
      const index = valid++;
      part.offsets.push(record.offset);
      part.eventTimes.push(event.eventTime);
      const watermark = o.lateness ? seen - o.lateness.delayMs : -Infinity;
      seen = Math.max(seen, event.eventTime);
      for (const p of route!.pipelines) {
        const kept = p.keep(event);
        if (!kept && p.rejectedAs === undefined) {
          stats.filtered++;
          continue;
        }
        const key = p.keyOf(event);
        if (!key) {
          stats.quarantined++;
          side.push({ kind: 'quarantine', offset: record.offset, reason: `pipeline "${p.name}" found no key in the event` });
          continue;
        }
        let late = false;
        // What is stored: the window itself when tumbling, a bucket of one advance when hopping
        // (advance = size for tumbling), so one item per event, late iff it has ended.
        for (const windowStart of windowsHolding(event.eventTime, p.window.advanceMs, p.window.advanceMs)) {
          if (windowStart + p.window.advanceMs <= watermark) {
            // One side record per (event, pipeline), naming the oldest window that turned it away.
            if (!late) {
              stats.late++;
              side.push({ kind: 'late', offset: record.offset, reason: expect.stringContaining('ended at or before the partition watermark') as unknown as string, pipeline: p.name, key, windowStart });
            }
            late = true;
            continue;
          }
          const id = `${p.name}|${key}|${windowStart}`;
          let agg = aggregates.get(id);
          if (!agg) aggregates.set(id, (agg = { pipeline: p, key, windowStart, values: p.slots.map(() => undefined), events: 0, rejected: 0, ranges: [], members: [] }));
          agg.events++;
          agg.members.push(index * 2 + (kept ? 1 : 0));
          const range = agg.ranges.find((r) => r.partitionId === record.partitionId);
          if (range) range.last = record.offset;
          else agg.ranges.push({ partitionId: record.partitionId, first: record.offset, last: record.offset });
          if (!kept) {
            agg.rejected++;
            continue;
          }
          p.slots.forEach((slot: Slot, i: number) => {
            const v = slot.value(event);
            if (v === undefined) return;
            const cur = agg.values[i];
            if (slot.op === 'add') agg.values[i] = ((cur as number | undefined) ?? 0) + (v as number);
            else if (slot.op === 'min') agg.values[i] = cur === undefined ? (v as number) : Math.min(cur as number, v as number);
            else if (slot.op === 'max') agg.values[i] = cur === undefined ? (v as number) : Math.max(cur as number, v as number);
            else if (cur === undefined) agg.values[i] = [String(v)];
            else if (!(cur as string[]).includes(String(v))) (cur as string[]).push(String(v));
          });
        }
      }
    }
  }
  return { aggregates: [...aggregates.values()], side, stats, progress };
}

function writesOf(p: Pipeline, values: (number | string[] | undefined)[], rejected: number): SlotWrite[] {
  const writes: SlotWrite[] = [];
  p.slots.forEach((slot: Slot, i: number) => {
    // A distinct slot's write carries its cap, which the store enforces.
    if (values[i] !== undefined) writes.push({ name: slot.name, op: slot.op, value: values[i]!, ...(slot.exactUpTo !== undefined ? { exactUpTo: slot.exactUpTo } : {}) });
  });
  if (rejected > 0 && p.rejectedAs) writes.push({ name: p.rejectedAs, op: 'add', value: rejected });
  return writes;
}

function check(records: RecordInput[], o: PlanOptions, router: Router = defaultRouter) {
  const partitions = decodeKafkaEvent(encodeKafkaEvent(records));
  const plan = planBatch(partitions, router, o);
  const want = expected(decodeKafkaEvent(encodeKafkaEvent(records)), o, router);
  expect(plan.stats).toEqual(want.stats);
  expect(plan.sideRecords.map((r) => ({ kind: r.kind, offset: r.offset, reason: r.reason, ...(r.pipeline ? { pipeline: r.pipeline, key: r.key, windowStart: r.windowStart } : {}) }))).toEqual(want.side);
  expect(plan.partitions.map(({ partitionId, firstOffset, firstPlannedOffset, lastOffset, offsets, eventTimes }) => ({ partitionId, firstOffset, firstPlannedOffset, lastOffset, offsets, eventTimes }))).toEqual(
    want.progress,
  );
  expect(plan.aggregates.length).toBe(want.aggregates.length);
  const records0 = partitions.flat();
  plan.aggregates.forEach((agg, n) => {
    const w = want.aggregates[n]!;
    expect([agg.pipeline.name, agg.key, agg.windowStart, agg.windowEnd]).toEqual([w.pipeline.name, w.key, w.windowStart, w.windowStart + w.pipeline.window.advanceMs]);
    const delta = agg.delta;
    expect([delta.events, delta.rejected]).toEqual([w.events, w.rejected]);
    expect(delta.values).toEqual(w.values.map((v) => (Array.isArray(v) ? new Set(v) : v)));
    expect(slotWrites(agg, delta)).toEqual(writesOf(w.pipeline, w.values, w.rejected));
    // The same writes from a delta read twice, and from the Set form (as other paths build deltas).
    expect(slotWrites(agg, agg.delta)).toEqual(slotWrites(agg, { values: delta.values, events: delta.events, rejected: delta.rejected }));
    expect(agg.offsets).toEqual(w.ranges.map((r) => ({ ...r, topic: agg.pipeline.source.topic, partition: Number(r.partitionId.slice(r.partitionId.lastIndexOf('-') + 1)) })));
    expect(agg.members).toEqual(w.members);
    const contributions = contributionsOf(agg);
    expect(contributions.map((c) => [c.partitionId, c.offset, c.kept])).toEqual(w.members.map((m) => [agg.batch.records[m >> 1]!.partitionId, agg.batch.records[m >> 1]!.offset, (m & 1) === 1]));
    for (const c of contributions) {
      const parsed = agg.pipeline.source.family.parse(JSON.parse(c.record.value!.toString('utf8')));
      expect(parsed.ok && c.event).toEqual(parsed.ok && parsed.event);
      expect(records0).toContain(c.record);
    }
    // A partial overlap: a store that holds the first half of each partition's offsets.
    const marks = new Map(w.ranges.map((r) => [r.partitionId, Math.floor((r.first + r.last) / 2)]));
    const rest = refoldAbove(agg, marks);
    const above = contributions.filter((c) => c.offset > marks.get(c.partitionId)!);
    expect(rest.contributions.map((c) => c.offset)).toEqual(above.map((c) => c.offset));
    expect(rest.delta.events).toBe(above.length);
    expect(rest.delta.rejected).toBe(above.filter((c) => !c.kept).length);
  });
}

describe('planBatch against a plain computation', () => {
  const sizes = [1, 5, 40, 200, 1000];
  for (const size of sizes) {
    it(`matches on generated batches of ${size}`, () => {
      for (let seed = 1; seed <= (size >= 1000 ? 3 : 12); seed++) {
        const records = generate(seed * 7919 + size, size);
        check(records, { maxRecordBytes: 64 * 1024 });
        check(records, { maxRecordBytes: 64 * 1024, lateness: { delayMs: 10 * MIN, marks: new Map() } });
        // Redelivered after an earlier delivery applied part of some partitions.
        const marks = new Map<string, { maxEventTime: number; lastOffset: number }>();
        for (const r of records) if (r.offset % 4 === 0 && !marks.has(`${r.topic}-${r.partition}`)) marks.set(`${r.topic}-${r.partition}`, { maxEventTime: T + 20 * MIN, lastOffset: r.offset });
        check(records, { maxRecordBytes: 200, lateness: { delayMs: 5 * MIN, marks } });
        // Hopping windows: each event in five windows per pipeline, some of them late.
        if (seed <= 4) {
          check(records, { maxRecordBytes: 64 * 1024, lateness: { delayMs: 10 * MIN, marks: new Map() } }, hoppingRouter);
          check(records, { maxRecordBytes: 200, lateness: { delayMs: 5 * MIN, marks } }, hoppingRouter);
        }
      }
    });
  }

  it('keeps ranges per partition when an aggregate spans partitions, and a partition met twice in one batch', () => {
    const pay = (partition: number, offset: number, minute: number) => ({ topic: 'user_events', partition, offset, value: { user_id: 7, action: 'payment', amount: 2, device_id: offset % 3, timestamp: T + minute * MIN } });
    const records = [pay(0, 1, 0), pay(1, 5, 1), pay(0, 2, 2), pay(2, 9, 3), pay(1, 6, 4)];
    check(records, { maxRecordBytes: 1024 });
    // Partitions handed over by hand, one of them twice: ranges still merge by partition id.
    const [p0, p1, p2] = decodeKafkaEvent(encodeKafkaEvent(records));
    const plan = planBatch([p1!, p0!, p2!, p1!], defaultRouter, { maxRecordBytes: 1024 });
    const risk = plan.aggregates.find((a) => a.pipeline.name === 'risk')!;
    expect(risk.offsets.map((r) => [r.partitionId, r.first, r.last])).toEqual([
      ['user_events-1', 5, 6],
      ['user_events-0', 1, 2],
      ['user_events-2', 9, 9],
    ]);
    expect(risk.members.length).toBe(7);
    expect(slotWrites(risk, risk.delta)).toEqual([
      { name: 'events', op: 'add', value: 7 },
      { name: 'devices', op: 'set', value: ['2', '0', '1'], exactUpTo: 500 },
    ]);
  });
});
