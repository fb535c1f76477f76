/**
 * What the account-takeover scenario and its near misses share: the sequence rule they are about,
 * and the planning of one user's session over two partitions of user_events.
 *
 * A session is a user of its own (no background user has the id), in one city and behind one IP,
 * so no window rule fires for it: at most two devices, one city, two logins and two payments in any
 * window. Its events carry exact event times (no whole-second rounding), because near misses sit a
 * millisecond past a boundary. The user's earlier activity and the login it bears on are produced
 * to one partition ("home"), the login at least the jitter after the activity, so the activity is
 * read first (lower offsets); the payment goes to the other partition, so the engine sees one user
 * on two partitions, in either order. No event that the login's history depends on is ever sent
 * on the other partition (the known limit of sequence rules, local/verify/reference/reference.ts).
 */
import { USER_EVENTS } from '../../../lib/pipelines/topics.ts';
import type { PlannedEvent } from '../types.ts';
import { publicIp } from '../world.ts';
import type { ScenarioContext, ScenarioPlan } from './spec.ts';

/**
 * The shipped sequence rule, restated: lib/rules/defaults.ts on this branch has no sequence rule
 * yet (it comes with the engine, issue 15). Once it does, read `within` and the amount from it.
 */
export const NEW_DEVICE_PAYMENT = {
  id: 'new-device-payment',
  /** The chain's last event at most this long after its first (inclusive). */
  withinMs: 600_000,
  /** A payment step needs an amount strictly above this. */
  amountAbove: 500,
} as const;

/** Past the jitter between the history and the login, so the login takes a later slot (a later offset). */
const SLOT_MARGIN_MS = 1_000;

/** One event of a session, at a time relative to the session's start. */
export interface SessionEvent {
  action: string;
  at: number;
  device: string;
  /** Which partition: the one the history and login go to, or the other. */
  on: 'home' | 'other';
  amount?: number;
}

/** Draws what a session needs, in a fixed order. */
export class Session {
  readonly known: string;
  readonly fresh: string;
  readonly city: string;
  readonly ip: string;
  readonly home: number;
  /** Event-time room left for optional gaps (ms). */
  private slack: number;

  constructor(
    private readonly ctx: ScenarioContext,
    /** The least span of the kind's events (ms), which fits(least) said the stream has. */
    least: number,
  ) {
    const { rng, world, stream } = ctx;
    this.known = `dev-${rng.hex(10)}`;
    this.fresh = `dev-${rng.hex(10)}`;
    this.city = world.city();
    this.ip = publicIp(rng);
    this.home = rng.int(0, 1);
    const [lo, hi] = stream.scenarioRange;
    this.slack = hi - lo - least;
  }

  /** The least gap between the last history event and the login: the jitter, and a margin. */
  get loginGap(): number {
    return this.ctx.stream.maxJitterMs + SLOT_MARGIN_MS;
  }

  /** An optional gap of up to `max` ms, as far as the room left allows. */
  extra(max: number): number {
    const n = this.ctx.rng.int(0, Math.max(0, Math.min(max, this.slack)));
    this.slack -= n;
    return n;
  }

  /** A payment amount strictly above the rule's. */
  bigAmount(): number {
    return Math.round(this.ctx.rng.between(NEW_DEVICE_PAYMENT.amountAbove + 1, 4 * NEW_DEVICE_PAYMENT.amountAbove) * 100) / 100;
  }

  /**
   * Earlier activity on the known device, on the home partition, from time 0: a login first (the
   * user's first device, which is no match), then one to three views, searches or cart additions,
   * each at least a second after the previous.
   */
  history(): SessionEvent[] {
    const events: SessionEvent[] = [{ action: 'login', at: 0, device: this.known, on: 'home' }];
    for (let i = this.ctx.rng.int(1, 3), at = 0; i > 0; i--) {
      at += 1_000 + this.extra(90_000);
      events.push({ action: this.ctx.rng.pick(['view', 'search', 'add_to_cart']), at, device: this.known, on: 'home' });
    }
    return events;
  }

  /** The planned events of user `userId`, the session starting at a time drawn so that all of it fits. */
  plan<K extends string>(kind: K, userId: number, events: SessionEvent[], chain: { first: number; last: number }, report: { detail: string; expectAlert: boolean }): ScenarioPlan<K> {
    const { rng, world, stream } = this.ctx;
    const span = Math.max(...events.map((e) => e.at));
    const [lo, hi] = stream.scenarioRange;
    const start = lo + rng.int(0, Math.max(0, hi - lo - span));
    const key = String(userId);
    const planned = events
      .slice()
      .sort((a, b) => a.at - b.at)
      .map((e): PlannedEvent => {
        const t = start + e.at;
        // notBefore = t: never rounded to a whole second, so the boundaries stay exact.
        const s = stream.stamp(USER_EVENTS, t, t);
        const body = world.userBody(userId, e.action, e.device, this.city, this.ip, s, e.amount);
        return { topic: USER_EVENTS, key, eventTime: s.t, body, partition: e.on === 'home' ? this.home : 1 - this.home };
      });
    return {
      scenario: {
        kind,
        pipeline: 'sequence',
        key,
        rule: NEW_DEVICE_PAYMENT.id,
        windowStart: start + chain.first,
        windowEnd: start + chain.last + 1,
        ...(report.expectAlert ? {} : { expectAlert: false as const }),
        detail: `user ${userId}: ${report.detail}`,
      },
      events: planned,
    };
  }
}

/** Whether the stream has `least` ms of event time for a scenario's events. */
export function fitsSpan(ctx: ScenarioContext, least: number): boolean {
  const [lo, hi] = ctx.stream.scenarioRange;
  return hi - lo >= least;
}

/** The least span of a session with history, a login and one more event `after` ms after the login. */
export function leastWithHistory(ctx: ScenarioContext, after: number): number {
  // History: a login and up to three more events, each at least 1 s after the previous.
  return 3_000 + ctx.stream.maxJitterMs + SLOT_MARGIN_MS + after;
}
