/**
 * The faults that run on their own schedule beside the local runtime: event source mappings killed
 * and restarted, and second closers racing the scheduled one. They stop when the stream is over
 * (`calm`), so the last windows can close.
 */
import type { Chaos } from './chaos.ts';

export interface RuntimeHandles {
  mappingCount: number;
  /** Kills mapping `index` (nothing in flight is committed) and starts a fresh one in its place. */
  killAndRestart(index: number): Promise<void>;
  /** Whether a scheduled closer run is under way. */
  closerRunning(): boolean;
  /** One closer invocation with a Lambda budget of `timeoutMs`. */
  invokeCloser(timeoutMs: number): Promise<unknown>;
  onError(where: string, err: unknown): void;
}

export interface RuntimeFaults {
  /** Stops injecting and waits for what is under way. */
  calm(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startRuntimeFaults(chaos: Chaos, h: RuntimeHandles): RuntimeFaults {
  let calm = false;

  // Two loops, never on the same mapping: a restart takes seconds (the group rejoins).
  const restarting = new Set<number>();
  const restartLoop = async () => {
    while (!calm && chaos.rates.emulatorRestartEveryMs > 0) {
      await sleep(chaos.random.between(0.5, 1.5) * chaos.rates.emulatorRestartEveryMs);
      if (calm) return;
      const index = chaos.random.pick([...Array(h.mappingCount).keys()].filter((i) => !restarting.has(i)));
      restarting.add(index);
      chaos.count('emulatorRestart');
      await h
        .killAndRestart(index)
        .catch((err) => h.onError('emulator restart', err))
        .finally(() => restarting.delete(index));
    }
  };

  // A second closer while a scheduled run is under way: together they must not double anything.
  // Its short budget (a closer stops taking windows 5 s before its end) keeps the extra load small.
  const twins = new Set<Promise<unknown>>();
  const twinLoop = async () => {
    while (!calm) {
      await sleep(chaos.random.between(1_000, 2_000));
      if (calm || !h.closerRunning() || twins.size >= 2 || !chaos.random.chance(chaos.rates.concurrentClosers)) continue;
      chaos.count('concurrentClosers');
      const twin: Promise<unknown> = h
        .invokeCloser(12_000)
        .catch((err) => h.onError('second closer', err))
        .finally(() => twins.delete(twin));
      twins.add(twin);
    }
    await Promise.all(twins);
  };

  const running = Promise.all([restartLoop(), restartLoop(), twinLoop()]);
  return {
    async calm() {
      calm = true;
      chaos.calm = true;
      await running;
    },
  };
}
