/** Reading configuration from the environment with errors that say what to set. */
import * as z from '../zod.ts';
import { StreamguardError } from '../errors.ts';

/** A deployment that cannot run: names every variable that is missing or wrong. */
export class ConfigError extends StreamguardError {}

/** Parses `env` with `schema`; on failure lists each variable with what it must be. */
export function parseEnv<T extends z.core.$ZodShape>(shape: T, env: NodeJS.ProcessEnv, what: string): z.infer<z.ZodMiniObject<T>> {
  const result = z.object(shape).safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
  throw new ConfigError(`${what} is misconfigured; set these environment variables:\n${lines.join('\n')}`);
}

/** A positive integer variable with a default, accepting the string form env gives. */
export const positiveInt = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z._default(z.coerce.number().check(z.int(), z.positive(), z.maximum(max)), fallback);

export const tableName = z
  .string({ error: 'required: the DynamoDB table name (set by the CDK stack, or the local runtime)' })
  .check(z.regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'must be a DynamoDB table name (3-255 of a-z A-Z 0-9 _ . -)'));
