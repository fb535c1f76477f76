/**
 * Telling a sequence rule from a window rule without loading the CEL engine: the rule store and
 * the closer need only this (validation, lib/sequences/rule.ts, brings CEL in).
 */

/** Whether a stored or submitted rule is a sequence rule (by its `kind`). */
export function isSequenceInput(input: unknown): boolean {
  return typeof input === 'object' && input !== null && (input as { kind?: unknown }).kind === 'sequence';
}

/** Validates a sequence rule (lib/sequences/rule.ts validateSequenceRule), injected where CEL is wanted. */
export type SequenceValidator = (input: unknown) => import('./rule.ts').SequenceRule;
