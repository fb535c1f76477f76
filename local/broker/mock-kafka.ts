/**
 * A local Kafka for development and tests: librdkafka's mock cluster hosted in a small native
 * process (see mock-kafka-host.c). It speaks the real Kafka protocol, so kafkajs (and the event
 * source mapping emulator built on it) talk to it exactly as they would to MSK, minus SASL/TLS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ensureMockKafkaHost, type LibrdkafkaRoute } from './build.ts';

/** A topic to create, with its exact partition count. */
export interface MockTopic {
  name: string;
  partitions: number;
}

/** Options for {@link startMockKafka}. */
export interface MockKafkaOptions {
  /** Number of brokers in the mock cluster (default 1). Partition leaders are spread over them. */
  brokers?: number;
  /** Topics created before the bootstrap list is returned. */
  topics: MockTopic[];
  /**
   * Caps on advertised API versions, for mock builds that mis-parse a version kafkajs would pick.
   * None is needed with Debian's librdkafka 2.0.2 and kafkajs 2.2.4; the host itself caps
   * LeaveGroup at v2 on newer mocks.
   */
  apiVersionCaps?: { apiKey: number; minVersion: number; maxVersion: number }[];
  /** How long to wait for the cluster to come up once the host is built (default 15 s). */
  startTimeoutMs?: number;
}

/** A running mock cluster. */
export interface MockKafka {
  /** `host:port` of every broker, as kafkajs's `brokers` option wants them. */
  bootstrapServers: string[];
  /** Creates a topic with an exact partition count (admin CreateTopics is unsupported by the mock). */
  createTopic(name: string, partitions: number): Promise<void>;
  /** Shuts the cluster down; all data is lost. Idempotent. */
  stop(): Promise<void>;
  /** The host process id, for diagnostics. */
  pid: number | undefined;
  /** The librdkafka version the host runs (as it reports it) and where that librdkafka came from. */
  librdkafka: { version: string; route: LibrdkafkaRoute; origin: string };
}

// Kafka's own limits on topic names; checked here so a bad name fails with a clear message.
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

function checkTopic(name: string, partitions: number): void {
  if (!TOPIC_NAME.test(name)) throw new Error(`invalid Kafka topic name ${JSON.stringify(name)}`);
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000) {
    throw new Error(`invalid partition count ${partitions} for topic ${name}`);
  }
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

// The host also exits by itself when its stdin closes (i.e. when this process dies, even by
// SIGKILL); the hook only makes a normal exit not wait for that.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGTERM');
  });
}

const STDERR_KEEP = 8192;

/**
 * Starts a librdkafka mock Kafka cluster with the given topics (building the native host first if
 * needed) and resolves once it accepts connections.
 *
 * @throws MockKafkaBuildError when the C toolchain is missing; an Error with the host's
 *   stderr when it fails to start or does not report readiness within `startTimeoutMs`.
 */
export async function startMockKafka(opts: MockKafkaOptions): Promise<MockKafka> {
  const brokers = opts.brokers ?? 1;
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 32) throw new Error(`brokers must be 1..32, got ${brokers}`);
  for (const t of opts.topics) checkTopic(t.name, t.partitions);

  const host = await ensureMockKafkaHost();
  const binary = host.binary;
  const args = ['--brokers', String(brokers)];
  for (const cap of opts.apiVersionCaps ?? []) {
    args.push('--api-version', `${cap.apiKey}:${cap.minVersion}:${cap.maxVersion}`);
  }
  for (const t of opts.topics) args.push(`${t.name}:${t.partitions}`);

  // Its own process group: Ctrl-C reaches only the parent, which then stops this in order.
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  liveChildren.add(child);
  installExitHook();

  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });
  // A write after the host died must not crash the caller with an unhandled EPIPE.
  child.stdin!.on('error', () => {});

  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      liveChildren.delete(child);
      resolve(code);
    });
  });

  // Replies to stdin commands come back in order, one line each.
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  let onReady: ((bootstrap: string) => void) | undefined;
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    if (line.startsWith('READY ')) {
      onReady?.(line.slice('READY '.length).trim());
      return;
    }
    const waiter = pending.shift();
    if (!waiter) return;
    if (line.startsWith('OK')) waiter.resolve();
    else waiter.reject(new Error(`mock Kafka: ${line.replace(/^ERR /, '')}`));
  });
  void exited.then((code) => {
    for (const waiter of pending.splice(0)) waiter.reject(new Error(`mock Kafka host exited (code ${code})`));
  });

  const timeoutMs = opts.startTimeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  let ready: string;
  try {
    ready = await new Promise<string>((resolve, reject) => {
      onReady = resolve;
      child.once('error', (err) => reject(new Error(`could not start ${binary}: ${err.message}`)));
      void exited.then((code) =>
        reject(new Error(`mock Kafka host exited with code ${code} before becoming ready.\nstderr:\n${stderr}`)),
      );
      timer = setTimeout(
        () => reject(new Error(`mock Kafka host did not report readiness within ${timeoutMs} ms.\nstderr:\n${stderr}`)),
        timeoutMs,
      );
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }

  // "READY <bootstraps> <librdkafka version>"
  const [bootstrap = '', version = host.librdkafka] = ready.split(/\s+/);
  let stopping: Promise<void> | undefined;
  return {
    bootstrapServers: bootstrap.split(',').filter(Boolean),
    pid: child.pid,
    librdkafka: { version, route: host.route, origin: host.origin },
    async createTopic(name, partitions) {
      checkTopic(name, partitions);
      if (child.exitCode !== null || stopping) throw new Error('mock Kafka is not running');
      await new Promise<void>((resolve, reject) => {
        pending.push({ resolve, reject });
        child.stdin!.write(`create ${name} ${partitions}\n`);
      });
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        // Closing stdin is the host's graceful shutdown; signals are the fallback if it hangs.
        child.stdin!.end();
        const escalate = setTimeout(() => child.kill('SIGTERM'), 3000);
        const kill = setTimeout(() => child.kill('SIGKILL'), 6000);
        await exited;
        clearTimeout(escalate);
        clearTimeout(kill);
        lines.close();
      })();
      return stopping;
    },
  };
}
