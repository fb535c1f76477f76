/**
 * streamguard's error family: every condition a caller can act on is a StreamguardError with a
 * name to match on and, where one exists, the cause it wraps. Subclasses live beside their
 * concern (config, rules, store, input) and are re-exported from lib/index.ts.
 */

/** The base of every error streamguard raises on purpose. */
export class StreamguardError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    // The concrete class's name, so logs and `err.name` checks say which error it is.
    this.name = new.target.name;
  }
}

/** Input the engine cannot take: an event that is not a Lambda Kafka event, a bad command argument. */
export class InputError extends StreamguardError {}

/** A pipeline declared wrongly in code (the DSL), found when the module loads. */
export class PipelineDefinitionError extends StreamguardError {}
