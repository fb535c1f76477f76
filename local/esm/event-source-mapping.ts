/**
 * A local emulator of the AWS Lambda Kafka event source mapping (MSK or self-managed Kafka).
 *
 * It reads one topic with one consumer group and calls the very handler that runs in AWS with
 * events in AWS's exact shape, with AWS's delivery contract: per-partition order, offsets
 * committed only after a successful invocation (at least once), whole-batch retries with backoff,
 * retry limits, record age limits, batch bisection, ReportBatchItemFailures resume points and a
 * Kafka on-failure destination.
 *
 * Deliberate simplifications: one invocation carries one partition's records (AWS may mix
 * partitions in one event; per-partition ordering, which is what handlers rely on, is the same),
 * and after a bisected half succeeds the rest of the failed range is retried in halves of the
 * same size rather than as the exact other half.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  type KafkaMessage,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import type { Context } from 'aws-lambda';
import {
  partitionIdOf,
  type BatchItemFailuresResponse,
  type KafkaEvent,
  type KafkaEventRecord,
} from '../../lib/codec/kafka-event.ts';
import {
  FAILURE_HEADERS,
  LOCAL_MSK_CLUSTER_ARN,
  defaultConsumerGroupId,
  effectiveBatchingWindowS,
  parseEventSourceMappingConfig,
  RETRY_CAP_WITH_DESTINATION,
  type EventSourceMappingConfig,
  type EventSourceMappingInput,
} from './config.ts';
import { decideDelivery, interpretResponse, type AfterSuccess, type FailureReason, type InvokeResult, type RetryState } from './delivery-policy.ts';
import { envelopePayloadBytes, recordPayloadBytes, toAwsRecord } from './records.ts';
import { lambdaContext } from './lambda-context.ts';

/**
 * The function under test: the same (event, context) => Promise signature as the deployed
 * Lambda handler (a middy-wrapped handler fits). A `batchItemFailures` answer is honoured only
 * when `reportBatchItemFailures` is on.
 */
export type KafkaLambdaHandler = (
  event: KafkaEvent,
  context: Context,
) => Promise<void | BatchItemFailuresResponse | null | undefined | unknown>;

/** Where the emulator reports what it does; defaults to the console, warnings and errors only. */
export interface EsmLogger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** Why records left the mapping without a successful invocation. */
export type { FailureReason } from './delivery-policy.ts';

/** Emitted after every invocation. */
export interface InvocationEvent {
  partitionId: string;
  firstOffset: number;
  lastOffset: number;
  records: number;
  payloadBytes: number;
  /** 1 for the first delivery of this range, then counting retries. */
  attempt: number;
  durationMs: number;
  outcome: 'success' | 'error' | 'partial';
  /** Resume offset for `partial`. */
  resumeOffset?: number;
  error?: string;
}

/** Emitted when records are given up on. */
export interface FailureEvent {
  partitionId: string;
  firstOffset: number;
  lastOffset: number;
  records: number;
  reason: FailureReason;
  attempts: number;
  error: string;
  /** The on-failure topic, or undefined when the records were dropped (no destination). */
  destination: string | undefined;
}

export interface EsmEvents {
  invocation: [InvocationEvent];
  retry: [{ partitionId: string; fromOffset: number; attempt: number; delayMs: number; bisectedTo?: number }];
  commit: [{ partitionId: string; partition: number; offset: number }];
  failure: [FailureEvent];
  /** kafkajs consumer crashes (it restarts itself when the error is retriable). */
  crash: [{ error: Error; restart: boolean }];
  assigned: [{ partitions: number[] }];
}

/** Counters for a live progress display. */
export interface EsmStats {
  running: boolean;
  invocations: number;
  failedInvocations: number;
  /** Records passed to the handler, counting every re-delivery. */
  recordsDelivered: number;
  /** Records whose offsets were committed after a successful invocation. */
  recordsSucceeded: number;
  retries: number;
  recordsSentToOnFailure: number;
  recordsDropped: number;
  /** Offsets that vanished between two fetches (retention or compaction), never delivered. */
  offsetsSkipped: number;
  /** Next offset to read per partition, as committed by this emulator. */
  committed: Record<number, number>;
  assignedPartitions: number[];
}

/** Per-partition position versus the log end. */
export interface PartitionLag {
  partition: number;
  partitionId: string;
  /** Committed next offset, or undefined when the group never committed this partition. */
  committed: number | undefined;
  /** The log end offset (high watermark). */
  high: number;
  lag: number;
}

export type { AfterSuccess } from './delivery-policy.ts';

/**
 * What becomes of a batch the function processed successfully. AWS commits it; a lost commit
 * (poller restart, rebalance) means the same records are delivered again, possibly cut into a
 * batch of another size. Local fault injection only.
 */
export interface DeliveryFaults {
  afterSuccess(partitionId: string, records: number): AfterSuccess;
}

export interface EventSourceMappingOptions {
  config: EventSourceMappingInput;
  handler: KafkaLambdaHandler;
  logger?: EsmLogger;
  faults?: DeliveryFaults;
}

const consoleLogger: EsmLogger = {
  info: () => {},
  warn: (m, d) => console.warn(`[esm] ${m}`, d ?? ''),
  error: (m, d) => console.error(`[esm] ${m}`, d ?? ''),
};

class StopRequested extends Error {
  constructor() {
    super('event source mapping is stopping');
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new StopRequested());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new StopRequested());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return typeof err === 'string' ? err : JSON.stringify(err) ?? String(err);
}

/** Records fetched for one partition and the worker that delivers them. */
interface PartitionState {
  partition: number;
  partitionId: string;
  /** Fetched, not yet committed, in offset order. The head is what the next invocation carries. */
  buffer: KafkaMessage[];
  bufferedBytes: number;
  /** Offset after the last fetched record: anything below it that is fetched again is a duplicate. */
  nextFetch: number | undefined;
  highWatermark: number;
  /** When the records now at the head of the buffer started waiting (batching window). */
  windowStart: number;
  paused: boolean;
  /** Set when the partition is revoked by a rebalance or the mapping stops. */
  retired: boolean;
  /** Size of the next batch after a lost commit, when it is to be cut differently. */
  recutTo: number | undefined;
  wake: (() => void) | undefined;
  done: Promise<void>;
}

/** The local Kafka event source mapping. Create with {@link createEventSourceMapping}. */
export class EventSourceMapping extends EventEmitter<EsmEvents> {
  readonly config: EventSourceMappingConfig;
  readonly consumerGroupId: string;
  private readonly handler: KafkaLambdaHandler;
  private readonly logger: EsmLogger;
  private readonly faults: DeliveryFaults | undefined;
  private killed = false;
  private readonly kafka: Kafka;
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  private admin: Admin | undefined;
  private abort = new AbortController();
  private running = false;
  private stopping: Promise<void> | undefined;
  private readonly retryState = new Map<number, RetryState>();
  private partitions = new Map<number, PartitionState>();
  private readonly envelope: Omit<KafkaEvent, 'records'>;
  private readonly counters: Omit<EsmStats, 'running' | 'committed' | 'assignedPartitions'> = {
    invocations: 0,
    failedInvocations: 0,
    recordsDelivered: 0,
    recordsSucceeded: 0,
    retries: 0,
    recordsSentToOnFailure: 0,
    recordsDropped: 0,
    offsetsSkipped: 0,
  };
  private readonly committed = new Map<number, number>();
  private assigned: number[] = [];
  private inFlight = 0;
  private readonly slotWaiters: (() => void)[] = [];

  constructor(opts: EventSourceMappingOptions) {
    super();
    this.config = parseEventSourceMappingConfig(opts.config);
    this.consumerGroupId = this.config.consumerGroupId ?? defaultConsumerGroupId(this.config);
    this.handler = opts.handler;
    this.faults = opts.faults;
    this.logger = opts.logger ?? consoleLogger;
    const logger = this.logger;
    this.kafka = new Kafka({
      clientId: this.config.local.clientId,
      brokers: this.config.bootstrapServers,
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ level, log }: LogEntry) => {
          const { message, ...rest } = log;
          if (level <= logLevel.ERROR) logger.error(`kafkajs: ${message}`, rest);
          else if (level === logLevel.WARN) logger.warn(`kafkajs: ${message}`, rest);
        },
    });
    const bootstrapServers = this.config.bootstrapServers.join(',');
    this.envelope =
      this.config.eventSource === 'aws:kafka'
        ? { eventSource: 'aws:kafka', eventSourceArn: this.config.eventSourceArn ?? LOCAL_MSK_CLUSTER_ARN, bootstrapServers }
        : { eventSource: 'SelfManagedKafka', bootstrapServers };
  }

  /**
   * Connects, joins the consumer group and starts invoking the handler. Resolves once partitions
   * are assigned (with the librdkafka mock that takes about 3 s for a new group, and the session
   * timeout minus 1 s for a group whose previous member just left).
   */
  async start(opts: { assignmentTimeoutMs?: number } = {}): Promise<void> {
    if (this.running) throw new Error('event source mapping already started');
    if (this.stopping) await this.stopping;
    this.stopping = undefined;
    this.killed = false;
    this.abort = new AbortController();
    this.retryState.clear();
    this.partitions = new Map();
    const { local } = this.config;

    const consumer = this.kafka.consumer({
      groupId: this.consumerGroupId,
      sessionTimeout: local.sessionTimeoutMs,
      rebalanceTimeout: local.sessionTimeoutMs,
      heartbeatInterval: local.heartbeatIntervalMs,
      // Large enough that one fetch can fill a whole batch up to the payload cap.
      maxBytesPerPartition: local.maxPayloadBytes + 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
      // Short long-polls keep stop() prompt; the broker is local so empty fetches are cheap.
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
      // kafkajs can schedule a crash restart after disconnect() when a join was still pending;
      // this veto keeps a stopped mapping stopped.
      retry: { restartOnFailure: async () => this.running && this.consumer === consumer },
    });
    this.consumer = consumer;
    let latest = new Map<number, string>();
    const assigned = new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        const partitions = (e.payload.memberAssignment[this.config.topic] ?? []).slice().sort((a, b) => a - b);
        for (const partition of partitions) {
          const end = latest.get(partition);
          if (end !== undefined && !this.committed.has(partition)) consumer.seek({ topic: this.config.topic, partition, offset: end });
        }
        this.onAssignment(partitions);
        resolve();
      });
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.logger.error('consumer crashed', { error: errorMessage(e.payload.error), restart: e.payload.restart });
      this.emit('crash', { error: e.payload.error, restart: e.payload.restart });
      // kafkajs gives up on non-retriable errors; stopping keeps stats().running truthful.
      if (!e.payload.restart && this.running && this.consumer === consumer) void this.stop();
    });

    try {
      if (this.config.startingPosition === 'LATEST') latest = await this.latestEnds();
      await consumer.connect();
      await consumer.subscribe({ topics: [this.config.topic], fromBeginning: this.config.startingPosition === 'TRIM_HORIZON' });
      if (this.config.onFailure) {
        this.producer = this.kafka.producer({
          allowAutoTopicCreation: false,
          idempotent: false, // the 2.0.2 mock has no idempotent producer support
          createPartitioner: Partitioners.DefaultPartitioner,
        });
        await this.producer.connect();
      }
      this.running = true;
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // The feeder never blocks for long; this only lets batches of several partitions be buffered at once.
        partitionsConsumedConcurrently: 16,
        eachBatch: (payload) => this.feed(payload),
      });
      const timeoutMs = opts.assignmentTimeoutMs ?? local.sessionTimeoutMs + 15_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        assigned,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no partition assignment for group ${this.consumerGroupId} within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /**
   * LATEST means "from when the mapping was created". kafkajs would only look the log end up at
   * its first fetch, after the group join, silently skipping whatever was produced in between
   * (and the mock cannot take an admin offset reset: no DescribeGroups). So the ends are read
   * here, before joining, for the partitions the group never committed, and sought to on join.
   */
  private async latestEnds(): Promise<Map<number, string>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const [ends, groupOffsets] = await Promise.all([
        admin.fetchTopicOffsets(this.config.topic),
        admin.fetchOffsets({ groupId: this.consumerGroupId, topics: [this.config.topic] }),
      ]);
      const committed = new Set((groupOffsets[0]?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => p.partition));
      return new Map(ends.filter((e) => !committed.has(e.partition)).map((e) => [e.partition, e.high]));
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /**
   * Graceful stop: no new invocation starts, in-flight ones finish and are committed (or, if they
   * fail, left uncommitted for re-delivery), then every client disconnects. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.running = false;
      this.abort.abort();
      const states = [...this.partitions.values()];
      for (const st of states) this.retire(st);
      // Workers commit through the consumer, so they must be done before it disconnects.
      await Promise.all(states.map((st) => st.done));
      const consumer = this.consumer;
      const producer = this.producer;
      const admin = this.admin;
      this.consumer = this.producer = this.admin = undefined;
      await consumer?.disconnect().catch((err: unknown) => this.logger.warn('consumer disconnect failed', { error: errorMessage(err) }));
      await producer?.disconnect().catch(() => {});
      await admin?.disconnect().catch(() => {});
      this.assigned = [];
    })();
    return this.stopping;
  }

  /**
   * Abrupt stop, as when the poller dies: invocations in flight run to their end (a function
   * cannot be interrupted) but nothing more is committed, so their records come again after a
   * restart. Local fault injection only.
   */
  kill(): Promise<void> {
    this.killed = true;
    return this.stop();
  }

  /** A snapshot of the counters. */
  stats(): EsmStats {
    return {
      running: this.running,
      ...this.counters,
      committed: Object.fromEntries(this.committed),
      assignedPartitions: [...this.assigned],
    };
  }

  /**
   * Lag per partition of the topic: log end offset minus the group's committed offset (or minus
   * the log start when nothing was committed yet and the mapping reads from TRIM_HORIZON).
   */
  async lag(): Promise<PartitionLag[]> {
    // While running one admin client is kept for repeated polling; otherwise a throwaway one.
    const keep = this.running;
    let admin = keep ? this.admin : undefined;
    if (!admin) {
      admin = this.kafka.admin();
      await admin.connect();
      if (keep) this.admin = admin;
    }
    let ends: Awaited<ReturnType<Admin['fetchTopicOffsets']>>;
    let groupOffsets: Awaited<ReturnType<Admin['fetchOffsets']>>;
    try {
      [ends, groupOffsets] = await Promise.all([
        admin.fetchTopicOffsets(this.config.topic),
        admin.fetchOffsets({ groupId: this.consumerGroupId, topics: [this.config.topic] }),
      ]);
    } finally {
      if (!keep) await admin.disconnect().catch(() => {});
    }
    const committedByPartition = new Map<number, number>();
    for (const p of groupOffsets[0]?.partitions ?? []) {
      const offset = Number(p.offset);
      if (offset >= 0) committedByPartition.set(p.partition, offset);
    }
    return ends
      .map((e) => {
        const high = Number(e.high);
        const committed = committedByPartition.get(e.partition) ?? this.committed.get(e.partition);
        const from = committed ?? (this.config.startingPosition === 'TRIM_HORIZON' ? Number(e.low) : high);
        return { partition: e.partition, partitionId: partitionIdOf(this.config.topic, e.partition), committed, high, lag: Math.max(0, high - from) };
      })
      .sort((a, b) => a.partition - b.partition);
  }

  /**
   * A (re)join resets kafkajs's fetch positions to the committed offsets, so every buffer is
   * stale: workers finish their in-flight invocation and hand over to fresh state.
   */
  private onAssignment(partitions: number[]): void {
    this.assigned = partitions;
    const previous = this.partitions;
    this.partitions = new Map();
    for (const st of previous.values()) this.retire(st);
    for (const partition of partitions) this.partitionState(partition, previous.get(partition)?.done);
    this.emit('assigned', { partitions });
  }

  private partitionState(partition: number, after?: Promise<void>): PartitionState {
    let st = this.partitions.get(partition);
    if (st) return st;
    st = {
      partition,
      partitionId: partitionIdOf(this.config.topic, partition),
      buffer: [],
      bufferedBytes: 0,
      nextFetch: undefined,
      highWatermark: 0,
      windowStart: Date.now(),
      paused: false,
      retired: false,
      recutTo: undefined,
      wake: undefined,
      done: Promise.resolve(),
    };
    this.partitions.set(partition, st);
    const state = st;
    // One worker per partition keeps its invocations strictly ordered.
    st.done = (after ?? Promise.resolve())
      .then(() => this.work(state))
      .catch((err: unknown) => {
        if (!(err instanceof StopRequested)) this.logger.error('partition worker failed', { partitionId: state.partitionId, error: errorMessage(err) });
      })
      .finally(() => this.setPaused(state, false));
    return st;
  }

  private retire(st: PartitionState): void {
    st.retired = true;
    st.wake?.();
  }

  private setPaused(st: PartitionState, paused: boolean): void {
    if (st.paused === paused || !this.consumer) return;
    st.paused = paused;
    const target = [{ topic: this.config.topic, partitions: [st.partition] }];
    if (paused) this.consumer.pause(target);
    else this.consumer.resume(target);
  }

  /** Waits until new records arrive, the state is retired, the mapping stops, or `ms` pass. */
  private waitForData(st: PartitionState, ms: number): Promise<boolean> {
    if (st.retired || !this.running) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), ms);
      const finish = (gotData: boolean) => {
        clearTimeout(timer);
        st.wake = undefined;
        resolve(gotData);
      };
      st.wake = () => finish(true);
    });
  }

  private bufferLimitReached(st: PartitionState): boolean {
    // Only a memory guard: a deep buffer is what lets a worker fill whole batches back to back.
    return st.buffer.length >= Math.max(2 * this.config.batchSize, 20_000) || st.bufferedBytes >= 2 * this.config.local.maxPayloadBytes;
  }

  /**
   * kafkajs's eachBatch: only buffers. Offsets are resolved at once so kafkajs keeps fetching
   * (with autoCommit off, resolving moves the fetch position but never commits); a full buffer
   * pauses the partition until its worker catches up.
   */
  private async feed(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset } = payload;
    if (batch.topic !== this.config.topic || batch.messages.length === 0) return;
    const st = this.partitionState(batch.partition);
    if (st.retired) return;
    let messages = batch.messages;
    if (st.nextFetch !== undefined) {
      const next = st.nextFetch;
      messages = messages.filter((m) => Number(m.offset) >= next);
    }
    const firstNew = messages[0] === undefined ? undefined : Number(messages[0].offset);
    if (st.nextFetch !== undefined && firstNew !== undefined && firstNew > st.nextFetch) {
      // Normal on a compacted topic; otherwise retention deleted records before they were read
      // (the librdkafka mock keeps only ~5 MB per partition).
      this.counters.offsetsSkipped += firstNew - st.nextFetch;
      this.logger.warn('offsets skipped: records deleted before they were read', { partitionId: st.partitionId, from: st.nextFetch, to: firstNew - 1 });
    }
    resolveOffset(batch.messages.at(-1)!.offset);
    st.highWatermark = Number(batch.highWatermark);
    if (messages.length === 0) return;
    if (st.buffer.length === 0) st.windowStart = Date.now();
    for (const m of messages) {
      st.buffer.push(m);
      st.bufferedBytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
    }
    st.nextFetch = Number(messages.at(-1)!.offset) + 1;
    if (this.bufferLimitReached(st)) this.setPaused(st, true);
    st.wake?.();
  }

  private consumed(st: PartitionState, count: number): void {
    for (const m of st.buffer.splice(0, count)) st.bufferedBytes -= (m.value?.length ?? 0) + (m.key?.length ?? 0);
    st.windowStart = Date.now();
    if (st.paused && !this.bufferLimitReached(st)) this.setPaused(st, false);
  }

  private async acquireSlot(): Promise<void> {
    const cap = this.config.local.concurrency;
    if (cap === undefined) return;
    while (this.inFlight >= cap) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    this.inFlight++;
  }

  private releaseSlot(): void {
    if (this.config.local.concurrency === undefined) return;
    this.inFlight--;
    this.slotWaiters.shift()?.();
  }

  /** The partition's delivery loop: batching window, invocation, commit, retries, on-failure. */
  private async work(st: PartitionState): Promise<void> {
    const { batchSize, maxBatchingWindow, local } = this.config;
    const { partition, partitionId } = st;
    const topic = this.config.topic;
    let deliverShort = false;
    while (!st.retired && this.running) {
      if (st.buffer.length === 0) {
        await this.waitForData(st, 1_000);
        continue;
      }
      const first = Number(st.buffer[0]!.offset);
      const retry = this.retryState.get(partition);
      const inRetry = retry !== undefined && retry.offset === first;
      const inBisect = retry?.bisectEnd !== undefined && first <= retry.bisectEnd;
      const recut = st.recutTo !== undefined;
      const limit = st.recutTo ?? (inBisect ? retry!.bisectSize! : batchSize);
      st.recutTo = undefined;
      let chunk = this.buildChunk(topic, partition, st.buffer, limit);

      if (!inRetry && !inBisect && !recut && chunk.records.length < batchSize && !chunk.capped && !deliverShort) {
        // Batching window: wait for more records until the window closes.
        const remaining = st.windowStart + effectiveBatchingWindowS(maxBatchingWindow) * 1000 - Date.now();
        if (remaining > 0) {
          await this.waitForData(st, remaining);
          continue;
        }
        // Window closed (or 0): if the broker already holds more, let the next fetch land first;
        // kafkajs fetches one record set per partition at a time from the mock.
        if (!st.paused && st.highWatermark > (st.nextFetch ?? 0)) {
          if (!(await this.waitForData(st, 100))) deliverShort = true;
          continue;
        }
      }
      deliverShort = false;

      const buffered = st.buffer.length;
      await this.acquireSlot();
      let result: InvokeResult;
      try {
        if (st.retired || !this.running) return;
        // Records may have arrived while waiting for a slot.
        if (st.buffer.length !== buffered && chunk.records.length < limit && !chunk.capped) {
          chunk = this.buildChunk(topic, partition, st.buffer, limit);
        }
        result = await this.invoke(partitionId, chunk, (inRetry ? retry.attempts : 0) + 1);
      } finally {
        this.releaseSlot();
      }
      const last = chunk.records.at(-1)!.offset;
      const decision = decideDelivery({
        result,
        batch: { offsets: chunk.records.map((r) => r.offset), timestamps: chunk.records.map((r) => r.timestamp) },
        retry,
        settings: {
          ...this.config,
          // As AWS does: infinite retries with an on-failure destination stop after 10.
          retryAttempts: this.config.retryAttempts === -1 && this.config.onFailure ? RETRY_CAP_WITH_DESTINATION : this.config.retryAttempts,
          retryBackoffBaseMs: local.retryBackoffBaseMs,
          retryBackoffMaxMs: local.retryBackoffMaxMs,
        },
        afterSuccess: result.outcome === 'success' ? this.faults?.afterSuccess(partitionId, chunk.records.length) : undefined,
        now: Date.now(),
      });

      if (decision.action === 'redeliver') {
        // The commit is lost: the buffer still starts at this batch, so it is delivered again.
        st.recutTo = decision.recutTo;
        deliverShort = true;
        continue;
      }
      if (decision.action === 'commit') {
        if (!(await this.commit(st, decision.nextOffset))) return;
        this.counters.recordsSucceeded += decision.consumed;
        this.consumed(st, decision.consumed);
        this.setRetry(partition, decision.retry);
        continue;
      }
      if (decision.commitFirst) {
        if (!(await this.commit(st, decision.commitFirst.nextOffset))) return;
        this.counters.recordsSucceeded += decision.commitFirst.consumed;
        this.consumed(st, decision.commitFirst.consumed);
      }
      const error = result.outcome === 'success' ? '' : result.error;
      if (decision.action === 'give-up') {
        const failed = chunk.records.slice(decision.failedFromIndex);
        await this.giveUp(partitionId, failed, decision.reason, error, decision.attempts);
        if (!(await this.commit(st, decision.nextOffset))) return;
        this.consumed(st, failed.length);
        this.setRetry(partition, undefined);
        continue;
      }
      this.setRetry(partition, decision.retry);
      this.counters.retries++;
      const { offset: fromOffset, attempts, bisectSize } = decision.retry;
      this.emit('retry', { partitionId, fromOffset, attempt: attempts, delayMs: decision.delayMs, ...(decision.bisected ? { bisectedTo: bisectSize } : {}) });
      this.logger.info('retrying', { partitionId, fromOffset, attempts, delayMs: decision.delayMs, error });
      await sleep(decision.delayMs, this.abort.signal);
    }
  }

  private setRetry(partition: number, retry: RetryState | undefined): void {
    if (retry) this.retryState.set(partition, retry);
    else this.retryState.delete(partition);
  }

  private buildChunk(topic: string, partition: number, messages: KafkaMessage[], limit: number) {
    const maxBytes = this.config.local.maxPayloadBytes;
    const partitionId = partitionIdOf(topic, partition);
    let bytes = envelopePayloadBytes(this.envelope, partitionId);
    const records: KafkaEventRecord[] = [];
    let capped = false;
    for (let i = 0; i < messages.length && records.length < limit; i++) {
      const record = toAwsRecord(topic, partition, messages[i]!);
      const size = recordPayloadBytes(record);
      if (records.length > 0 && bytes + size > maxBytes) {
        capped = true;
        break;
      }
      // A single record over the cap still goes alone rather than blocking the partition forever.
      if (records.length === 0 && bytes + size > maxBytes) {
        this.logger.warn('record alone exceeds the payload cap; delivering it by itself', { partitionId, offset: record.offset, bytes: size });
      }
      bytes += size;
      records.push(record);
    }
    return { records, bytes, capped };
  }

  private async invoke(
    partitionId: string,
    chunk: { records: KafkaEventRecord[]; bytes: number },
    attempt: number,
  ): Promise<InvokeResult> {
    const event: KafkaEvent = { ...this.envelope, records: { [partitionId]: chunk.records } };
    const timeoutMs = this.config.local.functionTimeoutSeconds * 1000;
    const started = Date.now();
    const context = this.context(started + timeoutMs);
    this.counters.invocations++;
    this.counters.recordsDelivered += chunk.records.length;
    let result: InvokeResult;
    let timer: NodeJS.Timeout | undefined;
    try {
      const response = await Promise.race([
        Promise.resolve().then(() => this.handler(event, context)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Task timed out after ${timeoutMs / 1000} seconds`)), timeoutMs);
        }),
      ]);
      result = interpretResponse(partitionId, chunk.records.map((r) => r.offset), response, this.config.reportBatchItemFailures);
    } catch (err) {
      result = { outcome: 'error', error: errorMessage(err) };
    } finally {
      clearTimeout(timer);
    }
    if (result.outcome !== 'success') this.counters.failedInvocations++;
    this.emit('invocation', {
      partitionId,
      firstOffset: chunk.records[0]!.offset,
      lastOffset: chunk.records.at(-1)!.offset,
      records: chunk.records.length,
      payloadBytes: chunk.bytes,
      attempt,
      durationMs: Date.now() - started,
      outcome: result.outcome,
      ...(result.outcome === 'partial' ? { resumeOffset: result.resumeOffset } : {}),
      ...(result.outcome !== 'success' ? { error: result.error } : {}),
    });
    return result;
  }

  private context(deadline: number): Context {
    return lambdaContext(this.config.local.functionName, 1024, deadline);
  }


  /**
   * Commits `nextOffset` for the partition. False when the commit failed (typically the partition
   * was lost to a rebalance): the records are then redelivered to whoever owns it next.
   */
  private async commit(st: PartitionState, nextOffset: number): Promise<boolean> {
    // Also after a retirement: the records were processed, and the next worker for this partition
    // only starts once this one is done, so the commit cannot go backwards.
    const consumer = this.consumer;
    if (!consumer || this.killed) return false;
    try {
      await consumer.commitOffsets([{ topic: this.config.topic, partition: st.partition, offset: String(nextOffset) }]);
    } catch (err) {
      this.logger.warn('offset commit failed; the partition will be re-read from its last commit', {
        partitionId: st.partitionId,
        offset: nextOffset,
        error: errorMessage(err),
      });
      this.retire(st);
      return false;
    }
    this.committed.set(st.partition, nextOffset);
    this.emit('commit', { partitionId: st.partitionId, partition: st.partition, offset: nextOffset });
    return true;
  }

  /** Sends failed records to the on-failure topic (retrying until it works or we stop), or drops them. */
  private async giveUp(partitionId: string, records: KafkaEventRecord[], reason: FailureReason, error: string, attempts: number): Promise<void> {
    const destination = this.config.onFailure;
    const failure: FailureEvent = {
      partitionId,
      firstOffset: records[0]!.offset,
      lastOffset: records.at(-1)!.offset,
      records: records.length,
      reason,
      attempts,
      error,
      destination,
    };
    if (!destination || !this.producer) {
      this.counters.recordsDropped += records.length;
      this.logger.warn('retries exhausted and no onFailure destination: skipping records', { ...failure });
      this.emit('failure', failure);
      return;
    }
    const failedAt = new Date().toISOString();
    const messages = records.map((r) => {
      const headers: IHeaders = {};
      for (const h of r.headers ?? []) {
        for (const [name, bytes] of Object.entries(h)) {
          const value = Buffer.from(bytes);
          const prev = headers[name];
          headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
        }
      }
      headers[FAILURE_HEADERS.sourceTopic] = r.topic;
      headers[FAILURE_HEADERS.sourcePartition] = String(r.partition);
      headers[FAILURE_HEADERS.sourceOffset] = String(r.offset);
      headers[FAILURE_HEADERS.sourceTimestamp] = String(r.timestamp);
      headers[FAILURE_HEADERS.reason] = reason;
      headers[FAILURE_HEADERS.error] = error.slice(0, 1024);
      headers[FAILURE_HEADERS.attempts] = String(attempts);
      headers[FAILURE_HEADERS.functionName] = this.config.local.functionName;
      headers[FAILURE_HEADERS.consumerGroupId] = this.consumerGroupId;
      headers[FAILURE_HEADERS.failedAt] = failedAt;
      return {
        key: r.key == null ? null : Buffer.from(r.key, 'base64'),
        value: r.value == null ? null : Buffer.from(r.value, 'base64'),
        headers,
      };
    });
    for (let attempt = 1; ; attempt++) {
      try {
        await this.producer.send({ topic: destination, acks: -1, messages });
        break;
      } catch (err) {
        // The offsets must not move past records that reached no destination.
        const delay = Math.min(this.config.local.retryBackoffMaxMs, this.config.local.retryBackoffBaseMs * 2 ** attempt);
        this.logger.error('producing to the onFailure topic failed; retrying', { destination, error: errorMessage(err), delay });
        await sleep(delay, this.abort.signal);
      }
    }
    this.counters.recordsSentToOnFailure += records.length;
    this.logger.warn('retries exhausted: records sent to the onFailure topic', { ...failure });
    this.emit('failure', failure);
  }
}

/**
 * Creates a local Kafka event source mapping for `handler`. The config uses the CDK
 * `ManagedKafkaEventSource` property names (see config.ts); call `start()` to begin.
 *
 * @throws z.ZodError when the config is invalid.
 */
export function createEventSourceMapping(opts: EventSourceMappingOptions): EventSourceMapping {
  return new EventSourceMapping(opts);
}
