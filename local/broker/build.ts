/**
 * Compiles the native mock Kafka host (mock-kafka-host.c) against the system librdkafka, once,
 * into the gitignored .cache directory.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const here = dirname(fileURLToPath(import.meta.url));

/** The C source of the host program. */
export const MOCK_KAFKA_SOURCE = join(here, 'mock-kafka-host.c');

/** Where the compiled host lives: `<repo>/.cache/mock-kafka-host`. */
export const MOCK_KAFKA_BINARY = resolve(here, '..', '..', '.cache', 'mock-kafka-host');

const INSTALL_HINT = 'apt-get install -y librdkafka-dev gcc';

/** Thrown when the toolchain or librdkafka is missing, with the exact package install command. */
export class MockKafkaBuildError extends Error {
  constructor(message: string) {
    super(`${message}\nThe local Kafka needs gcc and librdkafka's headers: run \`${INSTALL_HINT}\` (Debian/Ubuntu).`);
    this.name = 'MockKafkaBuildError';
  }
}

const RDKAFKA_HEADER_DIRS = ['/usr/include', '/usr/local/include'];

function headerPresent(): boolean {
  return RDKAFKA_HEADER_DIRS.some((dir) => existsSync(join(dir, 'librdkafka', 'rdkafka_mock.h')));
}

function upToDate(binary: string, source: string): boolean {
  if (!existsSync(binary)) return false;
  return statSync(binary).mtimeMs >= statSync(source).mtimeMs;
}

let inFlight: Promise<string> | undefined;

/**
 * Builds the mock Kafka host if the binary is missing or older than its source, and returns the
 * binary's path. Concurrent callers in one process share one compilation; concurrent processes
 * are safe because each compiles to a private temporary name and renames it into place.
 *
 * @throws MockKafkaBuildError naming the apt packages to install when gcc or librdkafka-dev is
 *   missing, or with gcc's output when compilation fails for another reason.
 */
export function ensureMockKafkaHost(opts: { force?: boolean } = {}): Promise<string> {
  if (!opts.force && upToDate(MOCK_KAFKA_BINARY, MOCK_KAFKA_SOURCE)) return Promise.resolve(MOCK_KAFKA_BINARY);
  inFlight ??= compile().finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}

async function compile(): Promise<string> {
  if (!headerPresent()) {
    throw new MockKafkaBuildError('librdkafka/rdkafka_mock.h was not found (package librdkafka-dev).');
  }
  mkdirSync(dirname(MOCK_KAFKA_BINARY), { recursive: true });
  const tmp = `${MOCK_KAFKA_BINARY}.${process.pid}.${Date.now()}.tmp`;
  try {
    await execFileAsync('gcc', ['-O2', '-Wall', '-o', tmp, MOCK_KAFKA_SOURCE, '-lrdkafka'], { timeout: 60_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new MockKafkaBuildError('gcc was not found on PATH.');
    const stderr = e.stderr ?? String(err);
    if (/cannot find -lrdkafka|rdkafka.*No such file/.test(stderr)) {
      throw new MockKafkaBuildError(`linking against librdkafka failed:\n${stderr}`);
    }
    throw new Error(`compiling ${MOCK_KAFKA_SOURCE} failed:\n${stderr}`);
  }
  renameSync(tmp, MOCK_KAFKA_BINARY);
  return MOCK_KAFKA_BINARY;
}

// Lets `tsx local/broker/build.ts` prebuild the binary (e.g. in CI before tests).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureMockKafkaHost({ force: process.argv.includes('--force') })
    .then((path) => console.log(path))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
