/**
 * A lock between processes around a slow build in the project cache: the first process builds,
 * the others (a second terminal, parallel test workers) wait for it instead of building again.
 * `mkdir` is atomic on every file system we run on; the owner's pid inside lets a waiter take
 * over a lock whose owner died.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function ownerAlive(lockDir: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
  } catch {
    // Between the owner's mkdir and its pid write; count it as alive.
    return true;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `work` while holding `lockDir`. When another live process holds it, calls `onWait` once and
 * polls until it is released, then runs `work` (which should first check whether the other
 * process already produced what it needs).
 *
 * @throws Error when the lock is still held after `timeoutMs`.
 */
export async function withBuildLock<T>(lockDir: string, work: () => Promise<T>, opts: { timeoutMs: number; onWait?: () => void }): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let told = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!ownerAlive(lockDir)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lockDir} is still held by another build after ${Math.round(opts.timeoutMs / 1000)} s; remove it if no build is running`);
      if (!told) opts.onWait?.();
      told = true;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    writeFileSync(join(lockDir, 'pid'), String(process.pid));
    return await work();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
