/** Wiring for the closer: the DynamoDB rule store and the cache over it, from configuration. */
import type { Log } from '../log.ts';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseEnv, positiveInt } from '../config/env.ts';
import { builtinPipelines } from '../pipelines/builtin.ts';
import type { PipelineLike } from './expression.ts';
import { DynamoRuleStore } from './dynamodb-rule-store.ts';
import { DEFAULT_RULE_TTL_MS, RuleCache } from './rule-cache.ts';
import type { SequenceValidator } from '../sequences/kind.ts';

/**
 * The rule cache TTL from `RULE_CACHE_TTL_MS` (default 30 s, at most 10 min).
 * @throws ConfigError naming the variable if it is not a positive integer.
 */
export function ruleCacheTtlFrom(env: NodeJS.ProcessEnv = process.env): number {
  return parseEnv({ RULE_CACHE_TTL_MS: positiveInt(DEFAULT_RULE_TTL_MS, 600_000) }, env, 'streamguard rules').RULE_CACHE_TTL_MS;
}

export interface RuleWiringOptions {
  /** The state table's physical name. */
  stateTable: string;
  pipelines?: readonly PipelineLike[];
  ttlMs?: number;
  now?: () => number;
  /** Where warnings about stored rules and refreshes go. */
  log?: Log;
  /** Sequence rules' validator (ingest and the CLI); absent, they are not read (the closer). */
  validateSequence?: SequenceValidator;
}

/** The store and cache the closer uses; one per container, so the cache survives warm invocations. */
export function wireRules(client: DynamoDBClient, options: RuleWiringOptions): { store: DynamoRuleStore; cache: RuleCache } {
  const now = options.now ?? Date.now;
  const store = new DynamoRuleStore(client, { tableName: options.stateTable, pipelines: options.pipelines ?? builtinPipelines, log: options.log, validateSequence: options.validateSequence }, now);
  const cache = new RuleCache({ store, ttlMs: options.ttlMs ?? ruleCacheTtlFrom(), now, log: options.log });
  return { store, cache };
}
