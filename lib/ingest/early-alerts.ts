/**
 * Early alerts: after each window write, the pipeline's early-decidable alerting rules
 * (lib/rules/early.ts) are evaluated on the window as the write's own answer says it is stored,
 * and a match is recorded with the id the closer would give it (docs/design.md, "Early alerts").
 * A hopping pipeline's write is to one bucket; its windows are merged from one Query of the key's
 * buckets (the only read early alerts make), and a match is recorded once per alert group.
 *
 * - No extra read: the features come from the write's answer (ALL_NEW when it applied, ALL_OLD of
 *   a refused duplicate), never from what this batch meant to add. So a partial overlap, a
 *   duplicate delivery or a re-cut batch is judged on the true stored features.
 * - No extra write but the alert: a conditional put on the deterministic id, so redeliveries,
 *   racing invocations and the closer make one record per (window, rule). Ids recorded by this
 *   container are remembered (bounded), so a hot window does not pay a refused put per write.
 * - As reliable as the window write: rules that cannot be read for now, or an alert put that is
 *   throttled or times out, throw TransientStoreError, so ingest resumes the partition at the
 *   aggregate's first offset; the redelivered records are duplicates, refused, and their answer
 *   (the stored window) is evaluated again, so the alert is recorded then. An alert that fails for
 *   good (a bug, a refused item) is reported and skipped; the closer raises it at close.
 * - Kafka is not involved: the alert record is the outbox.
 */
import { groupAlertId } from '../closer/alert-group.ts';
import { outputFeatures } from '../closer/output-features.ts';
import type { AlertStore, FiredBy } from '../closer/ports.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';
import { compileCondition, type CompiledCondition } from '../rules/expression.ts';
import { ruleTiming } from '../rules/early.ts';
import { isAlerting, type AlertingRule, type Rule } from '../rules/rule.ts';
import { isTransient, TransientStoreError } from '../store/errors.ts';
import type { BucketReader } from '../store/ports.ts';
import { windowEndsHolding } from '../pipelines/window.ts';
import { featuresOf, type Features, type StoredWindow } from '../windows/features-of.ts';
import { bucketsOfWindow, mergeBuckets } from '../windows/merge-buckets.ts';

export interface EarlyAlertDeps {
  /** The rules in force (the closer's RuleCache: same store, same pickup delay). */
  rules: () => Promise<readonly Rule[]>;
  alerts: Pick<AlertStore, 'putEarlyAlert'>;
  /** A hopping pipeline's buckets, read after each bucket write to merge its windows (absent: hopping pipelines alert at close only). */
  buckets?: BucketReader;
  now: () => number;
  /** Told about every failure that skipped early evaluation (for logs and metrics). */
  onError?: (error: unknown, what: string) => void;
}

interface EarlyRule {
  rule: AlertingRule;
  condition: CompiledCondition;
}

/** Ids remembered as recorded per container: far above a batch's windows, a few hundred KB at most. */
const MAX_REMEMBERED = 20_000;

/** What one batch raised. */
export interface EarlyTally {
  raised: number;
  failed: number;
}

/** The early rules of one rule list, per pipeline, for one batch. */
export class EarlyBatch {
  constructor(
    private readonly owner: EarlyAlerts,
    private readonly rules: readonly Rule[],
  ) {}

  /** Whether writes to this pipeline's windows should answer with the stored window. */
  wants(pipeline: Pipeline): boolean {
    return this.owner.planFor(this.rules, pipeline).length > 0;
  }

  /**
   * Evaluates the pipeline's early rules on a stored window and records each match (once).
   * @throws TransientStoreError when an alert put failed in a way that passes (the aggregate is
   *   then redelivered and evaluated again); other failures are counted and reported.
   */
  async raise(pipeline: Pipeline, stored: StoredWindow, firedBy: FiredBy, tally: EarlyTally): Promise<void> {
    // A closed window is the closer's: it raises what matches the final features.
    if (stored.closedAt !== undefined) return;
    const plan = this.owner.planFor(this.rules, pipeline);
    if (plan.length === 0) return;
    if (pipeline.window.kind === 'hopping') return this.raiseHopping(pipeline, plan, stored, firedBy, tally);
    const features = this.featuresOf(pipeline, stored, stored.slots, tally);
    if (features === undefined) return;
    for (const { rule, condition } of plan) {
      if (condition.test(features)) await this.put(pipeline, rule, stored.key, stored.windowStart, stored.windowEnd, features, firedBy, tally);
    }
  }

  /**
   * A hopping pipeline's bucket was written: one strongly consistent Query of the key's buckets in
   * [b - S + A, b + S - A] gives every window holding bucket b; each is merged and judged, oldest
   * first, and a match is put once per alert group (lib/closer/alert-group.ts).
   */
  private async raiseHopping(pipeline: Pipeline, plan: EarlyRule[], stored: StoredWindow, firedBy: FiredBy, tally: EarlyTally): Promise<void> {
    const reader = this.owner.buckets;
    if (!reader) return;
    const { sizeMs: S, advanceMs: A } = pipeline.window;
    const b = stored.windowStart;
    let buckets;
    try {
      buckets = await reader.buckets(pipeline.name, stored.key, b - S + A, b + S - A);
    } catch (err) {
      tally.failed++;
      if (err instanceof TransientStoreError || isTransient(err)) {
        throw new TransientStoreError(`early rules: the buckets of ${pipeline.name}/${stored.key} around ${b} could not be read yet: ${(err as Error).message}; its records are redelivered`, { cause: err });
      }
      this.owner.report(err, `early rules: the buckets of ${pipeline.name}/${stored.key} around ${b} could not be read`);
      return;
    }
    for (const end of windowEndsHolding(pipeline.window, b)) {
      const inWindow = bucketsOfWindow(buckets, end, S, A).map((x) => x.window);
      const features = this.featuresOf(pipeline, stored, mergeBuckets(pipeline, inWindow), tally);
      if (features === undefined) return;
      for (const { rule, condition } of plan) {
        if (condition.test(features)) await this.put(pipeline, rule, stored.key, end - S, end, features, firedBy, tally);
      }
    }
  }

  private featuresOf(pipeline: Pipeline, stored: StoredWindow, slots: StoredWindow['slots'], tally: EarlyTally): Features | undefined {
    try {
      return featuresOf(pipeline, slots);
    } catch (err) {
      tally.failed++;
      this.owner.report(err, `early rules: window ${pipeline.name}/${stored.key}/${stored.windowStart} could not be read`);
      return undefined;
    }
  }

  /** Records one early alert of a window, once per alert group. */
  private async put(pipeline: Pipeline, rule: AlertingRule, key: string, windowStart: number, windowEnd: number, features: Features, firedBy: FiredBy, tally: EarlyTally): Promise<void> {
    const id = groupAlertId(pipeline, key, windowStart, rule);
    if (this.owner.remembers(id)) return;
    const now = this.owner.now();
    try {
      const created = await this.owner.alerts.putEarlyAlert({
        id,
        pipeline: pipeline.name,
        rule: rule.id,
        alertType: rule.alertType,
        // The window's level is a verdict at close; an early alert carries only its rule's own.
        level: rule.level,
        key,
        windowStart,
        windowEnd,
        features: outputFeatures(features),
        raisedAt: now,
        timing: 'early',
        firedAt: now,
        firedBy,
      });
      this.owner.remember(id);
      if (created) tally.raised++;
    } catch (err) {
      tally.failed++;
      if (err instanceof TransientStoreError || isTransient(err)) {
        throw new TransientStoreError(`early alert ${id} (rule ${rule.id}) was not recorded yet: ${(err as Error).message}; its records are redelivered`, { cause: err });
      }
      this.owner.report(err, `early alert ${id} (rule ${rule.id}) was not recorded; the closer raises it at close`);
    }
  }
}

/** Early alert evaluation for ingest: one per container, so the remembered ids survive warm invocations. */
export class EarlyAlerts {
  readonly alerts: Pick<AlertStore, 'putEarlyAlert'>;
  readonly buckets: BucketReader | undefined;
  readonly now: () => number;
  private readonly rules: () => Promise<readonly Rule[]>;
  private readonly onError: (error: unknown, what: string) => void;
  private readonly plans = new WeakMap<readonly Rule[], Map<string, EarlyRule[]>>();
  private recorded = new Set<string>();

  constructor(deps: EarlyAlertDeps) {
    this.alerts = deps.alerts;
    this.buckets = deps.buckets;
    this.now = deps.now;
    this.rules = deps.rules;
    this.onError = deps.onError ?? (() => {});
  }

  /**
   * The rules for one batch, read once (the cache refreshes them per its TTL).
   * @throws TransientStoreError when they cannot be read for now (the batch is retried, as when its
   *   marks cannot be read); undefined, reported, when they cannot be read at all (the batch goes
   *   on without early alerts, the closer raises them).
   */
  async forBatch(): Promise<EarlyBatch | undefined> {
    try {
      return new EarlyBatch(this, await this.rules());
    } catch (err) {
      if (err instanceof TransientStoreError || isTransient(err)) throw new TransientStoreError(`early rules could not be read yet: ${(err as Error).message}`, { cause: err });
      this.report(err, 'early rules: the rules could not be read; this batch raises no early alert');
      return undefined;
    }
  }

  /** The enabled, alerting, early-decidable rules of a pipeline, compiled once per rule list. */
  planFor(rules: readonly Rule[], pipeline: Pipeline): EarlyRule[] {
    let byPipeline = this.plans.get(rules);
    if (!byPipeline) {
      byPipeline = new Map();
      if (Object.isFrozen(rules)) this.plans.set(rules, byPipeline);
    }
    let plan = byPipeline.get(pipeline.name);
    if (!plan) {
      plan = [];
      for (const rule of rules) {
        if (!rule.enabled || rule.pipeline !== pipeline.name || !isAlerting(rule)) continue;
        if (ruleTiming(rule, [pipeline]).timing !== 'early') continue;
        try {
          plan.push({ rule, condition: compileCondition(rule.condition) });
        } catch (err) {
          // Stored rules were validated; one that is not is the closer's to set aside, not ingest's.
          this.report(err, `early rules: rule ${rule.id} does not compile`);
        }
      }
      byPipeline.set(pipeline.name, plan);
    }
    return plan;
  }

  remembers(id: string): boolean {
    return this.recorded.has(id);
  }

  remember(id: string): void {
    // Crude but bounded: forgetting only costs one refused conditional put per window and rule.
    if (this.recorded.size >= MAX_REMEMBERED) this.recorded = new Set();
    this.recorded.add(id);
  }

  report(error: unknown, what: string): void {
    this.onError(error, what);
  }
}
