/** Event-time tumbling windows. */
import { PipelineDefinitionError } from '../errors.ts';

export interface TumblingWindow {
  kind: 'tumbling';
  sizeMs: number;
}

export function tumbling(sizeMs: number): TumblingWindow {
  if (!Number.isInteger(sizeMs) || sizeMs <= 0) throw new PipelineDefinitionError(`window size must be a positive whole number of ms, got ${sizeMs}`);
  return { kind: 'tumbling', sizeMs };
}

export const minutes = (n: number): number => n * 60_000;
export const hours = (n: number): number => n * 3_600_000;

/** Start of the window that holds `eventTime` (windows are aligned to the epoch, as Spark's are). */
export function windowStartOf(window: TumblingWindow, eventTime: number): number {
  return eventTime - (((eventTime % window.sizeMs) + window.sizeMs) % window.sizeMs);
}
