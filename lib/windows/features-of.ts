/** Turning a stored window's slots back into the features a pipeline promises. */
import type { DistinctSummary, FeatureValue, SlotValues } from '../pipelines/features.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';
import { HyperLogLog } from './hll.ts';

/** A distinct slot past its cap: the values kept before it (a sample) and its HyperLogLog sketch. */
export interface StoredSketch {
  values: string[];
  sketch: Uint8Array;
}

/** What storage holds per slot: a sum, the candidate extremes of a min/max slot, a string set, or a sketch. */
export type StoredSlots = Record<string, number | number[] | string[] | StoredSketch>;

export interface StoredWindow {
  pipeline: string;
  key: string;
  windowStart: number;
  windowEnd: number;
  closedAt: number | undefined;
  slots: StoredSlots;
  /** Applied writes so far; undefined on items written before versions were kept. */
  version?: number | undefined;
  /**
   * Set on a hopping pipeline's BUCKET (one advance of it): the size of the windows it is merged
   * into. Absent on a tumbling window. Readers (verify, tools) tell buckets from windows by it.
   */
  bucketOfSizeMs?: number;
  /** The closer is done with it (finished or set aside): a due page that still lists it skips it. */
  finished?: true;
}

export type Features = Record<string, FeatureValue>;

const isSketch = (v: unknown): v is StoredSketch => typeof v === 'object' && v !== null && (v as StoredSketch).sketch instanceof Uint8Array;

/** A sketched slot as a feature: the estimate, never below what is known (the switch happens past the cap). */
function estimateOf(stored: StoredSketch): DistinctSummary {
  const estimate = HyperLogLog.fromBytes(stored.sketch).estimate();
  return { count: Math.max(estimate, stored.values.length + 1), approximate: true, sample: [...stored.values].sort() };
}

/** Collapses stored slots (min/max candidate sets to their extreme, sketches to estimates) and reads every feature. */
export function featuresOf(pipeline: Pipeline, slots: StoredSlots): Features {
  const values: SlotValues = {};
  const ops = new Map(pipeline.slots.map((s) => [s.name, s.op]));
  for (const [name, stored] of Object.entries(slots)) {
    const op = ops.get(name);
    if (op === 'min' && Array.isArray(stored)) values[name] = Math.min(...(stored as number[]));
    else if (op === 'max' && Array.isArray(stored)) values[name] = Math.max(...(stored as number[]));
    else if (isSketch(stored)) values[name] = estimateOf(stored);
    else values[name] = stored as number | string[];
  }
  const features: Features = {};
  for (const [name, feature] of Object.entries(pipeline.features)) features[name] = feature.read(name, values);
  return features;
}
