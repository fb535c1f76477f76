/**
 * The features a risk result or an alert carries: numbers as they are, and every distinct feature as
 * its count, whether that count is an estimate, and a bounded sample of its values. A window's exact
 * set may hold up to its cap (hundreds of values); an output record or Kafka message never carries a
 * list that grows with the traffic.
 */
import type { DistinctSummary, FeatureValue } from '../pipelines/features.ts';
import { isDistinctSummary } from '../pipelines/features.ts';
import type { Features } from '../windows/features-of.ts';

/** Values of a distinct feature a result or alert shows (the least, in sort order). */
export const SAMPLE_SIZE = 20;

export type OutputFeatureValue = number | DistinctSummary | null;
export type OutputFeatures = Record<string, OutputFeatureValue>;

function outputValue(v: FeatureValue): OutputFeatureValue {
  if (Array.isArray(v)) return { count: v.length, approximate: false, sample: [...v].sort().slice(0, SAMPLE_SIZE) };
  if (isDistinctSummary(v)) return { count: v.count, approximate: v.approximate, sample: [...v.sample].sort().slice(0, SAMPLE_SIZE) };
  return v;
}

/** A window's features as results and alerts carry them (bounded whatever the window holds). */
export function outputFeatures(features: Features): OutputFeatures {
  const out: OutputFeatures = {};
  for (const [name, v] of Object.entries(features)) out[name] = outputValue(v);
  return out;
}
