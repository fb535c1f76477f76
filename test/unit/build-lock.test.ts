/** The build lock that lets parallel processes share one librdkafka build instead of racing. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withBuildLock } from '../../local/broker/build-lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'streamguard-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('withBuildLock', () => {
  it('runs holders one at a time; the waiter is told once and runs after the holder', async () => {
    const lock = join(dir, 'a.lock');
    const events: string[] = [];
    let waits = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = withBuildLock(lock, async () => {
      events.push('first in');
      await held;
      events.push('first out');
    }, { timeoutMs: 10_000 });
    const second = withBuildLock(lock, async () => {
      events.push('second in');
    }, { timeoutMs: 10_000, onWait: () => waits++ });
    await new Promise((r) => setTimeout(r, 1200));
    expect(events).toEqual(['first in']);
    release();
    await Promise.all([first, second]);
    expect(events).toEqual(['first in', 'first out', 'second in']);
    expect(waits).toBe(1);
  });

  it('takes over a lock whose owner is dead', async () => {
    const lock = join(dir, 'b.lock');
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), '2147483646');
    await expect(withBuildLock(lock, async () => 'ran', { timeoutMs: 2_000 })).resolves.toBe('ran');
  });

  it('releases the lock when the work fails', async () => {
    const lock = join(dir, 'c.lock');
    await expect(withBuildLock(lock, async () => Promise.reject(new Error('boom')), { timeoutMs: 2_000 })).rejects.toThrow('boom');
    await expect(withBuildLock(lock, async () => 'again', { timeoutMs: 500 })).resolves.toBe('again');
  });

  it('gives up after the timeout while a live owner holds it, naming the lock', async () => {
    const lock = join(dir, 'd.lock');
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.pid));
    await expect(withBuildLock(lock, async () => 'never', { timeoutMs: 600 })).rejects.toThrow(/d\.lock is still held/);
  });
});
