/**
 * Fault injection for the local runtime (`streamguard start --chaos`, `streamguard verify --chaos`
 * and tests). Every fault is switchable by its rate and counted when it happens, so a run can show
 * what it survived. Nothing here is part of what deploys: the faults act on the local event source
 * mapping, on the functions' DynamoDB clients (SDK middleware) and on the schedule.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Random } from '../generator/random.ts';

/** Faults the runtime injects while it runs. Log faults (duplicates, late, poison) are the generator's. */
export const RUNTIME_FAULTS = [
  'handlerCrash',
  'handlerCrashBeforePages',
  'redelivery',
  'recut',
  'throttle',
  'throttleExhausted',
  'closerCrash',
  'concurrentClosers',
  'emulatorRestart',
  'dispatcherCrashBefore',
  'dispatcherCrashAfter',
  'dispatcherRedelivery',
] as const;
export type RuntimeFault = (typeof RUNTIME_FAULTS)[number];

export interface ChaosRates {
  /** Share of ingest invocations that crash after some of their window writes. */
  handlerCrash: number;
  /**
   * Share of ingest invocations that crash after all their window writes, before their due pages
   * (docs/design.md, "Due pages"): the windows exist, unlisted, and the marks were not raised.
   */
  handlerCrashBeforePages: number;
  /** Share of successful batches whose commit is lost, delivered again as they were. */
  redelivery: number;
  /** Share of successful batches whose commit is lost, delivered again cut to another size. */
  recut: number;
  /** Share of DynamoDB requests answered with a throttle. */
  throttle: number;
  /** Share of throttles that last through every SDK retry (the batch then reports a resume point). */
  throttleStorm: number;
  /** Share of closer window finishes after an alert that crash the closer instead. */
  closerCrash: number;
  /** Chance, every 1-3 s while a scheduled closer runs, that a second one starts beside it. */
  concurrentClosers: number;
  /** Wall-clock ms between kills of an event source mapping, one at a time (0: never). */
  emulatorRestartEveryMs: number;
  /** Share of dispatcher invocations that crash, half before sending their alerts and half after. */
  dispatcherCrash: number;
  /** Share of the alert stream's successful batches whose checkpoint is lost, delivered again (whole or re-cut). */
  dispatcherRedelivery: number;
}

/**
 * Dense enough that CI's 12,000-event runs see every kind (9 or more of each in the 2026-12-02
 * rehearsal). Most kinds are per batch, and a slower machine reads bigger, fewer batches, so the
 * counts fall with the machine's speed; the crash before due pages only happens to invocations
 * that reach their pages, and a closer crash only to a window that alerted.
 */
export const DEFAULT_RATES: ChaosRates = {
  handlerCrash: 0.3,
  handlerCrashBeforePages: 0.2,
  redelivery: 0.25,
  recut: 0.4,
  throttle: 0.01,
  throttleStorm: 0.25,
  closerCrash: 0.7,
  concurrentClosers: 1,
  emulatorRestartEveryMs: 1_500,
  dispatcherCrash: 0.3,
  dispatcherRedelivery: 0.3,
};

/** A test-only way to break the system on purpose, so a check can prove it would notice. */
export interface Sabotage {
  /** Lets every window write through its offset-mark guard: redelivered writes count twice. */
  nonIdempotentWrites?: boolean;
}

export interface ChaosOptions {
  seed: number;
  rates?: Partial<ChaosRates>;
  sabotage?: Sabotage;
}

/** Per ingest invocation: when it is to crash, and how many window writes it has made. */
export interface InvocationPlan {
  crashAfterWrites: number | undefined;
  /** Crash at the first due page write instead (after every window write). */
  crashBeforePages: boolean;
  writes: number;
  crashed: boolean;
}

export class Chaos {
  readonly rates: ChaosRates;
  readonly sabotage: Sabotage;
  readonly counts: Record<RuntimeFault, number> = Object.fromEntries(RUNTIME_FAULTS.map((k) => [k, 0])) as Record<RuntimeFault, number>;
  readonly random: Random;
  /** Set once the stream is over: closers stop crashing, so the last windows can be closed. */
  calm = false;
  private readonly invocations = new AsyncLocalStorage<InvocationPlan>();

  constructor(options: ChaosOptions) {
    this.rates = { ...DEFAULT_RATES, ...options.rates };
    this.sabotage = options.sabotage ?? {};
    this.random = new Random(options.seed);
    for (const [name, rate] of Object.entries(this.rates)) {
      if (!(rate >= 0) || (name !== 'emulatorRestartEveryMs' && rate > 1)) throw new RangeError(`chaos rate ${name} must be within [0, 1], got ${rate}`);
    }
  }

  count(fault: RuntimeFault): void {
    this.counts[fault]++;
  }

  /** Runs one ingest invocation with its own crash plan, visible to the client middleware. */
  invocation<T>(run: () => Promise<T>): Promise<T> {
    const plan: InvocationPlan = {
      crashAfterWrites: this.random.chance(this.rates.handlerCrash) ? this.random.int(0, 6) : undefined,
      crashBeforePages: this.random.chance(this.rates.handlerCrashBeforePages),
      writes: 0,
      crashed: false,
    };
    return this.invocations.run(plan, run);
  }

  /**
   * Runs one dispatcher invocation, which may crash before it sends anything or after it sent
   * everything (its answer lost): either way the mapping delivers the batch again. Not stopped by
   * calm: most alerts are raised after the stream is over, and a retry always follows.
   */
  async dispatch<T>(run: () => Promise<T>): Promise<T> {
    if (!this.random.chance(this.rates.dispatcherCrash)) return run();
    if (this.random.chance(0.5)) {
      this.count('dispatcherCrashBefore');
      throw new Error('chaos: the dispatcher crashed before sending its alerts');
    }
    await run();
    this.count('dispatcherCrashAfter');
    throw new Error('chaos: the dispatcher crashed after sending its alerts');
  }

  /** The crash plan of the ingest invocation the caller runs in, if any. */
  currentInvocation(): InvocationPlan | undefined {
    return this.invocations.getStore();
  }
}
