/** Runs a bench script in a child Node process (with tsx) and reads back the JSON it writes. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * `script` is a path under bench/; it gets `{ ...options, out }` as its first argument and must
 * write its result as JSON to `out`. Its output goes to our stderr, so `--json` output stays clean.
 */
export async function runChild<T>(script: string, options: Record<string, unknown>, nodeArgs: string[] = []): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'streamguard-bench-'));
  const out = join(dir, 'result.json');
  try {
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(ROOT, 'bench', script), JSON.stringify({ ...options, out })], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    child.stdout.pipe(process.stderr, { end: false });
    child.stderr.pipe(process.stderr, { end: false });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`bench/${script} exited with code ${code}`);
    return JSON.parse(readFileSync(out, 'utf8')) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
