/**
 * librdkafka built from the source tree that an npm package carries, for machines without a
 * system librdkafka (no librdkafka-dev, no Homebrew librdkafka). Only the static library is built,
 * with every optional dependency (TLS, SASL, compression libraries, curl) turned off: the mock
 * cluster needs none of them, and a missing header must not stop a fresh machine.
 *
 * The package is fetched with `npm pack` (the registry, npm's own cache and its integrity check)
 * rather than installed as a dependency, because installing it would run its own install script
 * (a full node-gyp build of the bindings, about 6 minutes and 540 MB) on every `npm ci`, and npm 10
 * has no way to skip one package's script.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, setPriority } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StreamguardError } from '../../lib/errors.ts';

const execFileAsync = promisify(execFile);

/** The npm package whose tarball carries librdkafka's sources under `deps/librdkafka`, pinned. */
export const LIBRDKAFKA_NPM_PACKAGE = { name: 'node-rdkafka', version: '3.6.1', librdkafka: '2.12.0' } as const;

// The registry's integrity for node-rdkafka-3.6.1.tgz: a re-published or tampered tarball fails here.
const PACKAGE_INTEGRITY = 'sha512-sfpTbrT35429cs0RE8Yb9avGX9BiRRvpV7aweQsghKTjtrVZP3jBrKOPItWXAqHb8doyh3SkuGuUVBLgig1SRg==';

// Features the mock cluster does not use; each would otherwise need a -dev package on the machine.
const CONFIGURE_FLAGS = [
  '--no-download',
  '--disable-ssl',
  '--disable-gssapi',
  '--disable-zstd',
  '--disable-curl',
  '--disable-zlib',
  '--disable-lz4-ext',
  '--disable-debug-symbols',
];

/** The parts of a built librdkafka the host compiles against. */
export interface LibrdkafkaBuild {
  /** Directory holding `librdkafka/rdkafka.h` and `librdkafka/rdkafka_mock.h`. */
  includeDir: string;
  /** The static library. */
  library: string;
  /** Libraries the static library itself needs at link time, as configure found them. */
  linkFlags: string[];
  version: string;
}

/** Where the build lives inside the project cache. */
export function librdkafkaNpmDir(cacheDir: string): string {
  return join(cacheDir, `librdkafka-${LIBRDKAFKA_NPM_PACKAGE.librdkafka}`);
}

/** The finished build in `cacheDir`, or undefined when it has not been built yet. */
export function readLibrdkafkaBuild(cacheDir: string): LibrdkafkaBuild | undefined {
  const dir = librdkafkaNpmDir(cacheDir);
  const manifest = join(dir, 'build.json');
  if (!existsSync(manifest)) return undefined;
  const m = JSON.parse(readFileSync(manifest, 'utf8')) as { linkFlags: string[]; version: string };
  const build = { includeDir: join(dir, 'include'), library: join(dir, 'lib', 'librdkafka.a'), linkFlags: m.linkFlags, version: m.version };
  return existsSync(build.library) ? build : undefined;
}

/** Thrown when a step of the npm route fails; names the step and carries the tool's output. */
export class LibrdkafkaBuildError extends StreamguardError {
  constructor(step: string, detail: string) {
    super(`building librdkafka ${LIBRDKAFKA_NPM_PACKAGE.librdkafka} from npm ${LIBRDKAFKA_NPM_PACKAGE.name}@${LIBRDKAFKA_NPM_PACKAGE.version} failed at ${step}:\n${detail.slice(-4000)}`);
  }
}

/** npm itself: the one running us when started from an npm script or npx, else the one on PATH. */
function npmCommand(): { file: string; prefix: string[] } {
  const execPath = process.env.npm_execpath;
  if (execPath && /npm-cli\.js$/.test(execPath)) return { file: process.execPath, prefix: [execPath] };
  return { file: 'npm', prefix: [] };
}

async function step(name: string, file: string, args: string[], opts: { cwd?: string; timeoutMs: number }): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, { cwd: opts.cwd, timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new LibrdkafkaBuildError(name, `${file} was not found on PATH`);
    throw new LibrdkafkaBuildError(name, `${e.stderr ?? ''}${e.stdout ?? ''}` || String(err));
  }
}

/**
 * `make` at a lower priority, so a first `npm start` or test run leaves the machine usable while
 * librdkafka compiles (the children inherit the priority).
 */
function niceMake(cwd: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('make', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      if (child.pid) setPriority(child.pid, 10);
    } catch {
      // Not permitted everywhere; the build is only slower to share then.
    }
    let out = '';
    const keep = (chunk: Buffer) => {
      out = (out + chunk.toString('utf8')).slice(-16_384);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new LibrdkafkaBuildError('make', (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'make was not found on PATH' : String(err)));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new LibrdkafkaBuildError('make', `${out}\n(make exited with ${signal ?? `code ${code}`})`));
    });
  });
}

/** The `LIBS=` line configure wrote: what the static library needs from the system (-lm, -lpthread, ...). */
function configuredLibs(sourceDir: string): string[] {
  const config = readFileSync(join(sourceDir, 'Makefile.config'), 'utf8');
  const line = /^LIBS\+?=\s*(.*)$/m.exec(config);
  return (line?.[1] ?? '-lm -lpthread').split(/\s+/).filter(Boolean);
}

function integrityOf(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/**
 * Fetches the pinned package, builds `librdkafka.a` from the sources it carries and installs the
 * library and the two headers the host needs into `cacheDir`. The caller holds the build lock.
 *
 * @throws LibrdkafkaBuildError naming the failed step (npm pack, integrity, tar, configure, make).
 */
export async function buildLibrdkafkaFromNpm(cacheDir: string, onStep: (step: string) => void = () => {}): Promise<LibrdkafkaBuild> {
  const dir = librdkafkaNpmDir(cacheDir);
  const work = join(cacheDir, `librdkafka-build.${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const npm = npmCommand();
    const spec = `${LIBRDKAFKA_NPM_PACKAGE.name}@${LIBRDKAFKA_NPM_PACKAGE.version}`;
    // A registry spec: npm pack downloads the tarball and runs none of the package's scripts.
    onStep(`fetching ${spec} (npm pack)`);
    await step('npm pack', npm.file, [...npm.prefix, 'pack', spec, '--pack-destination', work, '--silent', '--no-audit', '--no-fund'], { timeoutMs: 300_000 });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new LibrdkafkaBuildError('npm pack', `no tarball appeared in ${work}`);
    const integrity = integrityOf(join(work, tarball));
    if (integrity !== PACKAGE_INTEGRITY) throw new LibrdkafkaBuildError('integrity check', `${tarball} has ${integrity}, expected ${PACKAGE_INTEGRITY}`);
    await step('tar', 'tar', ['-xzf', tarball, 'package/deps/librdkafka'], { cwd: work, timeoutMs: 120_000 });
    const source = join(work, 'package', 'deps', 'librdkafka');
    onStep('configuring librdkafka (optional TLS, SASL, compression and curl support off)');
    await step('configure', join(source, 'configure'), CONFIGURE_FLAGS, { cwd: source, timeoutMs: 300_000 });
    onStep('compiling librdkafka.a (make, at low priority)');
    await niceMake(source, ['-C', 'src', `-j${Math.max(1, availableParallelism())}`, 'librdkafka.a'], 1_200_000);

    const staged = `${dir}.${process.pid}.tmp`;
    rmSync(staged, { recursive: true, force: true });
    mkdirSync(join(staged, 'include', 'librdkafka'), { recursive: true });
    mkdirSync(join(staged, 'lib'), { recursive: true });
    for (const header of ['rdkafka.h', 'rdkafka_mock.h']) copyFileSync(join(source, 'src', header), join(staged, 'include', 'librdkafka', header));
    copyFileSync(join(source, 'src', 'librdkafka.a'), join(staged, 'lib', 'librdkafka.a'));
    writeFileSync(
      join(staged, 'build.json'),
      JSON.stringify({ package: spec, version: LIBRDKAFKA_NPM_PACKAGE.librdkafka, linkFlags: configuredLibs(source), configure: CONFIGURE_FLAGS }, null, 2) + '\n',
    );
    rmSync(dir, { recursive: true, force: true });
    renameSync(staged, dir);
  } finally {
    // The sources and object files (about 100 MB) are not needed once the library is installed.
    rmSync(work, { recursive: true, force: true });
  }
  const build = readLibrdkafkaBuild(cacheDir);
  if (!build) throw new LibrdkafkaBuildError('install', `${dir} is incomplete after the build`);
  return build;
}
