/** Turning a stored window's slots back into the features a pipeline promises. */
import type { SlotValues } from '../pipelines/features.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';

/** What storage holds per slot: a sum, the candidate extremes of a min/max slot, or a string set. */
export type StoredSlots = Record<string, number | number[] | string[]>;

export interface StoredWindow {
  pipeline: string;
  key: string;
  windowStart: number;
  windowEnd: number;
  closedAt: number | undefined;
  slots: StoredSlots;
}

export type Features = Record<string, number | string[] | null>;

/** Collapses stored slots (min/max candidate sets to their extreme) and reads every feature. */
export function featuresOf(pipeline: Pipeline, slots: StoredSlots): Features {
  const values: SlotValues = {};
  const ops = new Map(pipeline.slots.map((s) => [s.name, s.op]));
  for (const [name, stored] of Object.entries(slots)) {
    const op = ops.get(name);
    if (op === 'min' && Array.isArray(stored)) values[name] = Math.min(...(stored as number[]));
    else if (op === 'max' && Array.isArray(stored)) values[name] = Math.max(...(stored as number[]));
    else values[name] = stored as number | string[];
  }
  const features: Features = {};
  for (const [name, feature] of Object.entries(pipeline.features)) features[name] = feature.read(name, values);
  return features;
}
