/**
 * Compiles the native mock Kafka host (mock-kafka-host.c), once, into the gitignored .cache
 * directory, against one of two librdkafka builds (the "route"):
 * - system: a librdkafka with the mock API already on the machine (Debian's librdkafka-dev,
 *   Homebrew's librdkafka): compiling the host takes a second;
 * - npm: librdkafka built from the sources an npm package carries (librdkafka-npm.ts): about
 *   3 minutes, once per clone, and no root or system package needed.
 * STREAMGUARD_LIBRDKAFKA=system|npm forces a route; unset, the system one is used when present.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigError } from '../../lib/config/env.ts';
import { StreamguardError } from '../../lib/errors.ts';
import { withBuildLock } from './build-lock.ts';
import { buildLibrdkafkaFromNpm, LIBRDKAFKA_NPM_PACKAGE, librdkafkaNpmDir, readLibrdkafkaBuild } from './librdkafka-npm.ts';

const execFileAsync = promisify(execFile);

const here = dirname(fileURLToPath(import.meta.url));

/** The C source of the host program. */
export const MOCK_KAFKA_SOURCE = join(here, 'mock-kafka-host.c');

/** The project cache: `<repo>/.cache` (kept by `npm ci`, which empties node_modules). */
export const CACHE_DIR = resolve(here, '..', '..', '.cache');

/** The environment variable that forces a route. */
export const ROUTE_ENV = 'STREAMGUARD_LIBRDKAFKA';

/** Which librdkafka the host is built against. */
export type LibrdkafkaRoute = 'system' | 'npm';

/** A built host and what it runs. */
export interface MockKafkaHost {
  binary: string;
  route: LibrdkafkaRoute;
  /** librdkafka's version, from the headers the host was compiled against. */
  librdkafka: string;
  /** Where that librdkafka comes from, for people: "system (/usr/include)" or "npm node-rdkafka@3.6.1". */
  origin: string;
}

const C_COMPILER = () => process.env.CC || 'gcc';

/** What to install for the npm route, per platform. */
export function toolchainHint(): string {
  return process.platform === 'darwin'
    ? 'run `xcode-select --install` (C compiler, make), or `brew install librdkafka` for the fast path'
    : 'install a C compiler and make (Debian/Ubuntu: `apt-get install -y gcc make`)';
}

/** Thrown when the toolchain is missing or the host cannot be built; says what to install. */
export class MockKafkaBuildError extends StreamguardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`${message}\nThe local Kafka is built from source with a C compiler and make: ${toolchainHint()}.`, options);
  }
}

// Where a system (or Homebrew) librdkafka puts its headers; the lib directory is the sibling.
const SYSTEM_PREFIXES = ['/usr', '/usr/local', '/opt/homebrew'];

/** A system librdkafka that has the mock API, or undefined. */
export function findSystemLibrdkafka(): { prefix: string; version: string } | undefined {
  for (const prefix of SYSTEM_PREFIXES) {
    const dir = join(prefix, 'include', 'librdkafka');
    if (existsSync(join(dir, 'rdkafka_mock.h')) && existsSync(join(dir, 'rdkafka.h'))) {
      return { prefix, version: headerVersion(join(dir, 'rdkafka.h')) };
    }
  }
  return undefined;
}

/** `#define RD_KAFKA_VERSION 0x020c00ff` -> "2.12.0". */
function headerVersion(header: string): string {
  const m = /#define\s+RD_KAFKA_VERSION\s+0x([0-9a-f]{8})/i.exec(readFileSync(header, 'utf8'));
  if (!m) return 'unknown';
  const n = parseInt(m[1]!, 16);
  return `${(n >>> 24) & 0xff}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}`;
}

/** The route this process will use, and why. @throws ConfigError on a bad STREAMGUARD_LIBRDKAFKA value. */
export function chooseRoute(): { route: LibrdkafkaRoute; reason: string } {
  const forced = process.env[ROUTE_ENV];
  if (forced !== undefined && forced !== '' && forced !== 'system' && forced !== 'npm' && forced !== 'auto') {
    throw new ConfigError(`${ROUTE_ENV} must be system, npm or auto, got ${JSON.stringify(forced)}`);
  }
  if (forced === 'npm') return { route: 'npm', reason: `forced by ${ROUTE_ENV}=npm` };
  if (forced === 'system') return { route: 'system', reason: `forced by ${ROUTE_ENV}=system` };
  const system = findSystemLibrdkafka();
  return system
    ? { route: 'system', reason: `found ${system.prefix}/include/librdkafka/rdkafka_mock.h (set ${ROUTE_ENV}=npm to build from npm instead)` }
    : { route: 'npm', reason: 'no system librdkafka with the mock API (Debian librdkafka-dev, Homebrew librdkafka: the fast path)' };
}

/** Where the host binary for a route lives. */
export function hostBinary(route: LibrdkafkaRoute): string {
  return join(CACHE_DIR, route === 'system' ? 'mock-kafka-host-system' : `mock-kafka-host-librdkafka-${LIBRDKAFKA_NPM_PACKAGE.librdkafka}`);
}

function newerThan(file: string, ...inputs: string[]): boolean {
  if (!existsSync(file)) return false;
  const t = statSync(file).mtimeMs;
  return inputs.every((input) => t >= statSync(input).mtimeMs);
}

/** Options for {@link ensureMockKafkaHost}. */
export interface EnsureOptions {
  /** Rebuild the host even when it is up to date (the librdkafka build is reused). */
  force?: boolean;
  /** Where progress lines go (default: stderr, so they show under --quiet and in test runs). */
  log?: (line: string) => void;
}

const inFlight = new Map<LibrdkafkaRoute, Promise<MockKafkaHost>>();

/**
 * Builds the mock Kafka host for the chosen route if it is missing or older than its inputs and
 * returns it. Concurrent callers in one process share one build; concurrent processes share one
 * librdkafka build through a lock in the cache, and each compiles the host to a private temporary
 * name and renames it into place.
 *
 * @throws MockKafkaBuildError when the C compiler or make is missing or a build step fails, with
 *   what to install; ConfigError on a bad STREAMGUARD_LIBRDKAFKA value.
 */
export function ensureMockKafkaHost(opts: EnsureOptions = {}): Promise<MockKafkaHost> {
  const { route } = chooseRoute();
  let pending = inFlight.get(route);
  if (!pending) {
    pending = (route === 'system' ? buildSystemHost(opts) : buildNpmHost(opts)).finally(() => inFlight.delete(route));
    inFlight.set(route, pending);
  }
  return pending;
}

async function buildSystemHost(opts: EnsureOptions): Promise<MockKafkaHost> {
  const system = findSystemLibrdkafka();
  if (!system) {
    throw new MockKafkaBuildError(
      `${ROUTE_ENV}=system, but no librdkafka with the mock API was found under ${SYSTEM_PREFIXES.map((p) => `${p}/include`).join(', ')} (Debian: librdkafka-dev; macOS: brew install librdkafka); unset ${ROUTE_ENV} to build it from npm`,
    );
  }
  const host: MockKafkaHost = { binary: hostBinary('system'), route: 'system', librdkafka: system.version, origin: `system (${system.prefix})` };
  if (!opts.force && newerThan(host.binary, MOCK_KAFKA_SOURCE)) return host;
  await compileHost(host.binary, [`-I${system.prefix}/include`, `-L${system.prefix}/lib`, '-lrdkafka']);
  return host;
}

async function buildNpmHost(opts: EnsureOptions): Promise<MockKafkaHost> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const host = (version: string): MockKafkaHost => ({
    binary: hostBinary('npm'),
    route: 'npm',
    librdkafka: version,
    origin: `npm ${LIBRDKAFKA_NPM_PACKAGE.name}@${LIBRDKAFKA_NPM_PACKAGE.version}`,
  });
  let lib = readLibrdkafkaBuild(CACHE_DIR);
  if (!lib) {
    mkdirSync(CACHE_DIR, { recursive: true });
    lib = await withBuildLock(
      `${librdkafkaNpmDir(CACHE_DIR)}.lock`,
      async () => {
        // Another process may have finished it while this one waited for the lock.
        const done = readLibrdkafkaBuild(CACHE_DIR);
        if (done) return done;
        log(`building the local Kafka broker, about 3 minutes, once (librdkafka ${LIBRDKAFKA_NPM_PACKAGE.librdkafka} from npm ${LIBRDKAFKA_NPM_PACKAGE.name}@${LIBRDKAFKA_NPM_PACKAGE.version} into ${CACHE_DIR})`);
        const t0 = Date.now();
        let current = '';
        // A line every 30 s, so a first run (or a CI log) never looks hung.
        const heartbeat = setInterval(() => log(`  still ${current}, ${formatDuration(Date.now() - t0)} so far`), 30_000);
        try {
          const built = await buildLibrdkafkaFromNpm(CACHE_DIR, (step) => {
            current = step.split(' (')[0]!;
            log(`  ${step}`);
          });
          log(`built the local Kafka broker's librdkafka ${built.version} in ${formatDuration(Date.now() - t0)}`);
          return built;
        } catch (err) {
          throw new MockKafkaBuildError((err as Error).message, { cause: err });
        } finally {
          clearInterval(heartbeat);
        }
      },
      { timeoutMs: 30 * 60_000, onWait: () => log('waiting for another process that is building the local Kafka broker…') },
    );
  }
  const built = host(lib.version);
  if (!opts.force && newerThan(built.binary, MOCK_KAFKA_SOURCE, lib.library)) return built;
  await compileHost(built.binary, [`-I${lib.includeDir}`, lib.library, ...lib.linkFlags]);
  return built;
}

async function compileHost(binary: string, flags: string[]): Promise<void> {
  mkdirSync(dirname(binary), { recursive: true });
  const tmp = `${binary}.${process.pid}.${Date.now()}.tmp`;
  try {
    await execFileAsync(C_COMPILER(), ['-O2', '-Wall', '-o', tmp, MOCK_KAFKA_SOURCE, ...flags], { timeout: 120_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new MockKafkaBuildError(`the C compiler ${C_COMPILER()} was not found on PATH.`);
    throw new MockKafkaBuildError(`compiling ${MOCK_KAFKA_SOURCE} failed:\n${e.stderr ?? String(err)}`);
  }
  renameSync(tmp, binary);
}

/** 192000 -> "3 min 12 s". */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Asks a built host which librdkafka it runs (`mock-kafka-host --version`). */
export async function hostVersion(binary: string): Promise<string> {
  const { stdout } = await execFileAsync(binary, ['--version'], { timeout: 10_000 });
  return stdout.trim();
}

// Lets `tsx local/broker/build.ts` prebuild the host (e.g. in CI before tests).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureMockKafkaHost({ force: process.argv.includes('--force') })
    .then((h) => console.log(`${h.binary} (librdkafka ${h.librdkafka}, ${h.origin})`))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
