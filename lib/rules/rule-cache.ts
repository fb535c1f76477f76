/**
 * The rules the closer applies, refreshed from the store so edits take effect without a redeploy.
 *
 * Semantics:
 * - Stored rules of a pipeline REPLACE that pipeline's defaults entirely. A pipeline with no stored
 *   rule uses its defaults. A stored rule counts even when disabled, so storing disabled rules is
 *   how a pipeline's alerting is switched off; deleting all of a pipeline's rules brings its
 *   defaults back. (Stored rules that no longer validate are left out by the store, so they do
 *   not count.)
 * - The store is read at most once per TTL (30 s by default, ConsistentRead). With the closer on a
 *   1-minute schedule every run is more than a TTL after the previous read, so an edit is applied
 *   from the next run that starts after it: within a minute, without a redeploy.
 * - Take `rules()` once per closer run and pass that list to evaluateRules for every window: the
 *   run then applies one consistent rule set, and compilation and ordering are reused across windows.
 * - Sequence rules (lib/sequences) come from the same read: stored ones replace the default
 *   sequence rules entirely (`effectiveSequenceRules`), so storing the default disabled switches it off.
 * - If a refresh fails while rules are in hand, they keep being served (errors reported to
 *   `onRefreshError`) and the store is tried again after `retryMs`. With nothing in hand, the error
 *   propagates: guessing with defaults could overrule an operator's edits.
 */
import { silentLog, type Log } from '../log.ts';
import { evaluateRules, type Evaluation } from './evaluate.ts';
import { defaultRules } from './defaults.ts';
import type { Rule } from './rule.ts';
import type { RuleStore } from './rule-store.ts';
import type { Features } from '../windows/features-of.ts';
import { defaultSequenceRules } from '../sequences/defaults.ts';
import type { SequenceRule } from '../sequences/rule.ts';

export const DEFAULT_RULE_TTL_MS = 30_000;

export interface RuleCacheOptions {
  store: RuleStore;
  /** How long a read of the store is trusted. */
  ttlMs?: number;
  /** After a failed refresh with rules in hand, how long to serve them before retrying. */
  retryMs?: number;
  /** Rules for pipelines the store holds none for. */
  defaults?: readonly Rule[];
  /** Sequence rules when the store holds none. */
  sequenceDefaults?: readonly SequenceRule[];
  now?: () => number;
  /** Told about each failed refresh; default: a warning on `log`. */
  onRefreshError?: (error: unknown) => void;
  log?: Log;
}

/**
 * Merges stored rules over defaults: a pipeline with any stored rule uses only its stored rules.
 * @returns a frozen list of frozen rules (evaluateRules memoises per list).
 */
export function effectiveRules(stored: readonly Rule[], defaults: readonly Rule[]): readonly Rule[] {
  const overridden = new Set(stored.map((r) => r.pipeline));
  const merged = [...stored, ...defaults.filter((r) => !overridden.has(r.pipeline))];
  return Object.freeze(merged.map((r) => Object.freeze({ ...r })));
}

/** Stored sequence rules if there are any (enabled or not), else the defaults; frozen. */
export function effectiveSequenceRules(stored: readonly SequenceRule[], defaults: readonly SequenceRule[]): readonly SequenceRule[] {
  return Object.freeze((stored.length > 0 ? stored : defaults).map((r) => Object.freeze({ ...r })));
}

export class RuleCache {
  private readonly store: RuleStore;
  private readonly ttlMs: number;
  private readonly retryMs: number;
  private readonly defaults: readonly Rule[];
  private readonly sequenceDefaults: readonly SequenceRule[];
  private sequences: readonly SequenceRule[] = Object.freeze([]);
  private readonly now: () => number;
  private readonly onRefreshError: (error: unknown) => void;

  private current: readonly Rule[] | undefined;
  /** When the store should next be read. */
  private freshUntil = -Infinity;
  private inFlight: Promise<readonly Rule[]> | undefined;

  constructor(options: RuleCacheOptions) {
    this.store = options.store;
    this.ttlMs = options.ttlMs ?? DEFAULT_RULE_TTL_MS;
    this.retryMs = options.retryMs ?? Math.min(5_000, this.ttlMs);
    this.defaults = options.defaults ?? defaultRules;
    this.sequenceDefaults = options.sequenceDefaults ?? defaultSequenceRules;
    this.now = options.now ?? Date.now;
    const log = options.log ?? silentLog;
    this.onRefreshError = options.onRefreshError ?? ((e) => log.warn('rule refresh failed; serving the cached rules', { error: String(e) }));
  }

  /**
   * The effective rules of every pipeline, re-read from the store once the TTL has passed.
   * The list is frozen and stays the same object until the next refresh.
   * @throws the store's error (e.g. TransientStoreError) if the rules were never loaded.
   */
  async rules(): Promise<readonly Rule[]> {
    if (this.current && this.now() < this.freshUntil) return this.current;
    // One read serves every caller waiting on the same refresh.
    this.inFlight ??= this.refresh().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * The effective sequence rules (enabled or not), from the same read and TTL as `rules()`.
   * @throws as `rules()`.
   */
  async sequenceRules(): Promise<readonly SequenceRule[]> {
    await this.rules();
    return this.sequences;
  }

  /** The effective rules of one pipeline (enabled or not), in no particular order. */
  async rulesFor(pipeline: string): Promise<readonly Rule[]> {
    return (await this.rules()).filter((r) => r.pipeline === pipeline);
  }

  /** Evaluates a window against the current rules of its pipeline (see evaluateRules). */
  async evaluate(pipeline: string, features: Features): Promise<Evaluation> {
    return evaluateRules(await this.rules(), pipeline, features);
  }

  /** Forces the next call to read the store, e.g. right after an admin edit in the same process. */
  invalidate(): void {
    this.freshUntil = -Infinity;
  }

  private async refresh(): Promise<readonly Rule[]> {
    try {
      const stored = await this.store.listAll();
      this.sequences = effectiveSequenceRules(stored.sequences, this.sequenceDefaults);
      this.current = effectiveRules(stored.rules, this.defaults);
      this.freshUntil = this.now() + this.ttlMs;
      return this.current;
    } catch (err) {
      if (!this.current) throw err;
      this.onRefreshError(err);
      this.freshUntil = this.now() + this.retryMs;
      return this.current;
    }
  }
}
