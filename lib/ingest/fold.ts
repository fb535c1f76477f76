/** Folding events into slot values: the arithmetic of pre-aggregation, shared by every path. */
import type { Pipeline } from '../pipelines/pipeline.ts';

/**
 * Slot values folded from some events, aligned with `pipeline.slots`; `rejected` counts events the
 * pipeline's filter turned away (only kept when the pipeline has `rejectedAs`).
 */
export interface SlotDelta {
  values: (number | Set<string> | undefined)[];
  rejected: number;
  events: number;
}

export function emptyDelta(pipeline: Pipeline): SlotDelta {
  const values: SlotDelta['values'] = [];
  for (let i = 0; i < pipeline.slots.length; i++) values.push(undefined);
  return { values, rejected: 0, events: 0 };
}

/** Adds one kept event to a delta. */
export function foldKept(pipeline: Pipeline, delta: SlotDelta, event: unknown): void {
  const slots = pipeline.slots;
  delta.events++;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    const v = slot.value(event);
    if (v === undefined) continue;
    const current = delta.values[i];
    switch (slot.op) {
      case 'add':
        delta.values[i] = ((current as number | undefined) ?? 0) + (v as number);
        break;
      case 'min':
        if (current === undefined || (v as number) < (current as number)) delta.values[i] = v as number;
        break;
      case 'max':
        if (current === undefined || (v as number) > (current as number)) delta.values[i] = v as number;
        break;
      case 'set':
        if (current === undefined) delta.values[i] = new Set([String(v)]);
        else (current as Set<string>).add(String(v));
        break;
    }
  }
}

/** Adds one event the pipeline's filter rejected. */
export function foldRejected(delta: SlotDelta): void {
  delta.events++;
  delta.rejected++;
}
