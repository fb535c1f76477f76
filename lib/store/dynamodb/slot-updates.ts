/**
 * The slot half of a window update, kept bounded whatever the input.
 *
 * Counters are ADDed blind. The two slot kinds that grow are guarded, so the common write stays one
 * blind conditional UpdateItem and only a window at its bound pays a second request:
 * - a distinct set is ADDed only while it cannot pass its cap (`size(set) <= cap - values`). Past
 *   the cap the window keeps a HyperLogLog sketch (binary) instead, and the set stays as it was (a
 *   sample of at most `cap` values). The switch happens exactly when the union would pass the cap,
 *   so a feature is exact if and only if its window has at most `cap` distinct values.
 * - a min/max slot's candidate set is ADDed only while it holds fewer than MAX_CANDIDATES; a full
 *   one is replaced by the single new extreme, under a compare-and-set on its generation counter.
 *
 * When a guard fails, DynamoDB returns the stored item (ALL_OLD) and the store writes again from
 * what it saw ("observed"): the exact union, a merged sketch under a compare-and-set on the sketch
 * it read, a replaced candidate set. The offset marks guard every attempt, so exactly-once is
 * untouched; sketches merge by register maximum, so re-merging a redelivered batch is harmless.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { HyperLogLog } from '../../windows/hll.ts';
import { MAX_CANDIDATES } from '../bounds.ts';
import type { SlotWrite } from '../ports.ts';
import { WINDOW_ATTR as A } from '../tables.ts';

export type Item = Record<string, AttributeValue>;

/** The clauses of one UpdateItem, filled in by each part of the update. */
export interface UpdateParts {
  names: Record<string, string>;
  values: Record<string, AttributeValue>;
  sets: string[];
  adds: string[];
  conditions: string[];
}

/** Whether one slot's conditions hold on a stored item, evaluated as DynamoDB evaluates them. */
export type SlotCheck = (item: Item) => boolean;


const num = (n: number): AttributeValue => ({ N: String(n) });

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Adds every slot's clauses to `parts`; returns the checks of the conditions added.
 * @param observed the stored item a refused attempt returned, or undefined for a blind first attempt.
 */
export function addSlotUpdates(slots: readonly SlotWrite[], observed: Item | undefined, parts: UpdateParts): SlotCheck[] {
  const checks: SlotCheck[] = [];
  slots.forEach((slot, i) => {
    const check = slot.op === 'add' ? addCounter(slot, i, parts) : slot.op === 'set' ? addDistinct(slot, i, observed, parts) : addExtreme(slot, i, observed, parts);
    if (check) checks.push(check);
  });
  return checks;
}

function addCounter(slot: SlotWrite, i: number, p: UpdateParts): undefined {
  p.names[`#s${i}`] = A.slotPrefix + slot.name;
  p.values[`:s${i}`] = num(slot.value as number);
  p.adds.push(`#s${i} :s${i}`);
  return undefined;
}

function addExtreme(slot: SlotWrite, i: number, observed: Item | undefined, p: UpdateParts): SlotCheck | undefined {
  const setName = A.slotPrefix + slot.name;
  const genName = A.generationPrefix + slot.name;
  const v = slot.value as number;
  const stored = observed?.[setName]?.NS;
  if (stored === undefined || stored.length < MAX_CANDIDATES) {
    // A grow-only set of candidate extremes (readers take its min or max), while it has room.
    p.names[`#s${i}`] = setName;
    p.names[`#g${i}`] = genName;
    p.values[`:s${i}`] = { NS: [String(v)] };
    p.values[':one'] = num(1);
    p.values[':maxc'] = num(MAX_CANDIDATES);
    p.adds.push(`#s${i} :s${i}`, `#g${i} :one`);
    p.conditions.push(`(attribute_not_exists(#s${i}) OR size(#s${i}) < :maxc)`);
    return (item) => (item[setName]?.NS?.length ?? 0) < MAX_CANDIDATES;
  }
  // Full: a value that is no new extreme adds nothing (the stored extreme only ever moves past it).
  const extreme = slot.op === 'min' ? Math.min(...stored.map(Number)) : Math.max(...stored.map(Number));
  if (slot.op === 'min' ? v >= extreme : v <= extreme) return undefined;
  // A new extreme replaces the candidates, unless another write touched them since they were read.
  const generation = observed?.[genName]?.N;
  p.names[`#s${i}`] = setName;
  p.names[`#g${i}`] = genName;
  p.values[`:s${i}`] = { NS: [String(v)] };
  p.values[':one'] = num(1);
  p.sets.push(`#s${i} = :s${i}`);
  p.adds.push(`#g${i} :one`);
  if (generation === undefined) p.conditions.push(`attribute_not_exists(#g${i})`);
  else {
    p.values[`:g${i}`] = { N: generation };
    p.conditions.push(`#g${i} = :g${i}`);
  }
  return (item) => (generation === undefined ? item[genName] === undefined : item[genName]?.N !== undefined && Number(item[genName]!.N) === Number(generation));
}

function addDistinct(slot: SlotWrite, i: number, observed: Item | undefined, p: UpdateParts): SlotCheck | undefined {
  const setName = A.slotPrefix + slot.name;
  const values = slot.value as string[];
  const cap = slot.exactUpTo;
  if (cap === undefined) {
    // No cap declared (a slot built by hand): a plain union.
    p.names[`#s${i}`] = setName;
    p.values[`:s${i}`] = { SS: values };
    p.adds.push(`#s${i} :s${i}`);
    return undefined;
  }
  const sketchName = A.sketchPrefix + slot.name;
  // Names are declared only where used: DynamoDB refuses an unused placeholder.
  const useSet = () => (p.names[`#s${i}`] = setName);
  const useSketch = () => (p.names[`#h${i}`] = sketchName);
  const addValues = (vs: string[]) => {
    if (vs.length === 0) return;
    useSet();
    p.values[`:s${i}`] = { SS: vs };
    p.adds.push(`#s${i} :s${i}`);
  };
  const setSketch = (sketch: HyperLogLog) => {
    useSketch();
    p.values[`:h${i}`] = { B: sketch.toBytes() };
    p.sets.push(`#h${i} = :h${i}`);
  };

  if (observed === undefined) {
    if (values.length <= cap) {
      // Blind: whatever is stored, the set cannot pass the cap.
      addValues(values);
      p.values[`:r${i}`] = num(cap - values.length);
      useSketch();
      p.conditions.push(`attribute_not_exists(#h${i}) AND (attribute_not_exists(#s${i}) OR size(#s${i}) <= :r${i})`);
      return (item) => item[sketchName] === undefined && (item[setName]?.SS?.length ?? 0) <= cap - values.length;
    }
    // This write alone passes the cap: right only on a window that has no values yet.
    addValues(values.slice(0, cap));
    setSketch(HyperLogLog.of(values));
    useSet();
    p.conditions.push(`attribute_not_exists(#h${i}) AND attribute_not_exists(#s${i})`);
    return (item) => item[sketchName] === undefined && item[setName] === undefined;
  }

  const storedSketch = observed[sketchName]?.B;
  if (storedSketch !== undefined) {
    // Past the cap: merge into the sketch read, unless it already covers these values.
    const merged = HyperLogLog.fromBytes(storedSketch);
    const add = HyperLogLog.of(values);
    if (merged.covers(add)) return undefined;
    merged.merge(add);
    setSketch(merged);
    p.values[`:ho${i}`] = { B: storedSketch };
    p.conditions.push(`#h${i} = :ho${i}`);
    return (item) => sameBytes(item[sketchName]?.B, storedSketch);
  }

  // Exact so far: the set read is all there is (a set only grows, so its size says it is unchanged).
  const stored = observed[setName]?.SS;
  const have = new Set(stored ?? []);
  const fresh = values.filter((v) => !have.has(v));
  if (fresh.length === 0) return undefined;
  if (have.size + fresh.length <= cap) addValues(fresh);
  else {
    // The switch: the set is filled up to the cap (the sample) and the sketch holds every value.
    addValues(fresh.slice(0, cap - have.size));
    setSketch(HyperLogLog.of([...have, ...fresh]));
  }
  useSet();
  useSketch();
  if (stored === undefined) p.conditions.push(`attribute_not_exists(#h${i}) AND attribute_not_exists(#s${i})`);
  else {
    p.values[`:n${i}`] = num(stored.length);
    p.conditions.push(`attribute_not_exists(#h${i}) AND size(#s${i}) = :n${i}`);
  }
  const n = stored?.length;
  return (item) => item[sketchName] === undefined && item[setName]?.SS?.length === n;
}
