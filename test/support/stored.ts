/** Reads back what ingest stored, as features per window id, for comparison with directComputation. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { builtinPipelines } from '../../lib/pipelines/builtin.ts';
import { scanWindows } from '../../lib/store/dynamodb/scan-windows.ts';
import { featuresOf } from '../../lib/windows/features-of.ts';
import { windowId, type Expected } from './direct.ts';

export async function storedFeatures(client: DynamoDBClient, windowsTable: string): Promise<Expected> {
  const byName = new Map(builtinPipelines.map((p) => [p.name, p]));
  const out: Expected = new Map();
  for (const w of await scanWindows(client, windowsTable)) {
    const features = featuresOf(byName.get(w.pipeline)!, w.slots);
    for (const [k, v] of Object.entries(features)) if (Array.isArray(v)) features[k] = [...v].sort();
    out.set(windowId(w.pipeline, w.key, w.windowStart), features);
  }
  return out;
}

/** Rounds floats so sums added in different orders compare equal. */
export function normalise(m: Expected): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, f] of [...m].sort(([a], [b]) => a.localeCompare(b))) {
    out[id] = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 1e6) / 1e6 : v]));
  }
  return out;
}
