/**
 * A local emulator of the AWS Lambda DynamoDB stream event source mapping, reading DynamoDB
 * Local's streams API (DescribeStream, GetShardIterator, GetRecords) and calling the very handler
 * that runs in AWS with events in AWS's shape (events/dynamodb-stream.json), with AWS's delivery
 * contract: per-shard order, a checkpoint only after a successful invocation (at least once),
 * retries with backoff, retry and record-age limits, bisection, ReportBatchItemFailures and an
 * on-failure destination that receives the batch's description. The retry decisions are the
 * Kafka emulator's pure policy (delivery-policy.ts), fed with each buffered record's position.
 *
 * Simplifications: one batch per shard in flight whatever the ParallelizationFactor (AWS keeps
 * order per item key; this keeps it per shard, which is stricter); checkpoints live in memory;
 * no filter criteria (the dispatcher filters what it is given itself); child shards are read from
 * their start once their parent is drained, as AWS does.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as SdkStreamRecord,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context } from 'aws-lambda';
import type { DynamoDBStreamEvent, DynamoDBStreamRecord, StreamImage } from '../../lib/dispatcher/stream-event.ts';
import { localDynamoClient } from '../services/client.ts';
import { decideDelivery, type AfterSuccess, type InvokeResult, type RetryState } from './delivery-policy.ts';
import { streamMappingConfigSchema, type StreamFailureRecord, type StreamMappingConfig, type StreamMappingInput } from './stream-config.ts';
import { lambdaContext } from './lambda-context.ts';

export type StreamLambdaHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<unknown>;

/** Lost checkpoints (local fault injection only): a processed batch is delivered again. */
export interface StreamDeliveryFaults {
  afterSuccess(shardId: string, records: number): AfterSuccess;
}

export interface StreamMappingStats {
  invocations: number;
  failedInvocations: number;
  recordsDelivered: number;
  recordsSucceeded: number;
  retries: number;
  batchesSentToOnFailure: number;
  recordsSentToOnFailure: number;
  shards: number;
}

export interface StreamMappingEvents {
  invocation: [{ shardId: string; records: number; attempt: number; outcome: InvokeResult['outcome']; error?: string }];
  failure: [StreamFailureRecord];
}

export interface StreamMappingOptions {
  config: StreamMappingInput;
  handler: StreamLambdaHandler;
  /** The on-failure destination (AWS: an SQS queue or SNS topic); always kept in `failures`. */
  onFailure?: (record: StreamFailureRecord) => void | Promise<void>;
  faults?: StreamDeliveryFaults;
  log?: (message: string, data?: Record<string, unknown>) => void;
}

interface Buffered {
  /** Position in this shard's buffer order: the "offset" the delivery policy works with. */
  pos: number;
  record: DynamoDBStreamRecord;
  /** Approximate creation time, epoch ms (DynamoDB Local truncates it to the minute). */
  at: number;
  bytes: number;
}

interface ShardState {
  shardId: string;
  parent: string | undefined;
  iterator: string | undefined;
  /** The last sequence number fetched: where a fresh iterator starts after an error. */
  lastFetched: string | undefined;
  /** The shard has no more records (its iterator ran out). */
  ended: boolean;
  done: boolean;
  buffer: Buffered[];
  nextPos: number;
  retry: RetryState | undefined;
  /** When the last GetRecords that came back empty was sent. */
  emptyAt: number;
  windowStart: number;
  busy: boolean;
  redeliver: number | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errorMessage = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/** A GetRecords record as Lambda passes it: eventSourceARN added, the creation time in epoch seconds. */
export function toLambdaRecord(r: SdkStreamRecord, streamArn: string): DynamoDBStreamRecord {
  const d = r.dynamodb ?? {};
  const created = d.ApproximateCreationDateTime;
  return {
    eventID: r.eventID,
    eventName: r.eventName,
    eventVersion: r.eventVersion,
    eventSource: r.eventSource,
    awsRegion: r.awsRegion,
    dynamodb: {
      ...(created ? { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) } : {}),
      Keys: d.Keys as StreamImage | undefined,
      ...(d.NewImage ? { NewImage: d.NewImage as StreamImage } : {}),
      ...(d.OldImage ? { OldImage: d.OldImage as StreamImage } : {}),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
    eventSourceARN: streamArn,
    ...(r.userIdentity ? { userIdentity: r.userIdentity } : {}),
  };
}

/** The handler's answer as the mapping reads it (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html). */
export function interpretStreamResponse(batch: readonly Buffered[], response: unknown, reportBatchItemFailures: boolean): InvokeResult {
  if (!reportBatchItemFailures) return { outcome: 'success' };
  const failures = (response as { batchItemFailures?: unknown } | null | undefined)?.batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return { outcome: 'success' };
  let lowest: Buffered | undefined;
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const hit = typeof id === 'string' && id !== '' ? batch.find((b) => b.record.dynamodb?.SequenceNumber === id) : undefined;
    // An empty, null or unknown identifier fails the whole batch, as AWS does.
    if (!hit) return { outcome: 'error', error: `batchItemFailures names ${JSON.stringify(id)}, not a sequence number of the batch` };
    if (!lowest || hit.pos < lowest.pos) lowest = hit;
  }
  const error = `batchItemFailures: resume at ${lowest!.record.dynamodb!.SequenceNumber}`;
  return lowest!.pos === batch[0]!.pos ? { outcome: 'error', error } : { outcome: 'partial', resumeOffset: lowest!.pos, error };
}

export class DynamoStreamMapping extends EventEmitter<StreamMappingEvents> {
  readonly config: StreamMappingConfig;
  /** Every batch given up on, in order (what the on-failure destination received). */
  readonly failures: StreamFailureRecord[] = [];
  private readonly handler: StreamLambdaHandler;
  private readonly opts: StreamMappingOptions;
  private readonly dynamo: DynamoDBClient;
  private readonly streams: DynamoDBStreamsClient;
  private streamArn = '';
  private readonly shards = new Map<string, ShardState>();
  private readonly workers = new Set<Promise<void>>();
  private running = false;
  private discovery: Promise<void> | undefined;
  private readonly counters: Omit<StreamMappingStats, 'shards'> = {
    invocations: 0,
    failedInvocations: 0,
    recordsDelivered: 0,
    recordsSucceeded: 0,
    retries: 0,
    batchesSentToOnFailure: 0,
    recordsSentToOnFailure: 0,
  };

  constructor(opts: StreamMappingOptions) {
    super();
    this.opts = opts;
    this.config = streamMappingConfigSchema.parse(opts.config);
    this.handler = opts.handler;
    this.dynamo = localDynamoClient(this.config.endpoint);
    this.streams = new DynamoDBStreamsClient({
      endpoint: this.config.endpoint,
      region: process.env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local' },
    });
  }

  /** Finds the table's stream and starts polling its shards. */
  async start(): Promise<void> {
    if (this.running) throw new Error('stream mapping already started');
    const table = await this.dynamo.send(new DescribeTableCommand({ TableName: this.config.tableName }));
    const arn = table.Table?.LatestStreamArn;
    if (!arn || !table.Table?.StreamSpecification?.StreamEnabled) {
      throw new Error(`table ${this.config.tableName} has no stream: create it with StreamSpecification (lib/store/tables.ts "stream")`);
    }
    this.streamArn = arn;
    this.running = true;
    await this.refreshShards(true);
    this.discovery = (async () => {
      while (this.running) {
        await sleep(this.config.local.shardRefreshMs);
        if (this.running) await this.refreshShards(false).catch((err) => this.opts.log?.('shard list not read', { error: errorMessage(err) }));
      }
    })();
  }

  /** Stops taking new batches; what is in flight finishes. */
  async stop(): Promise<void> {
    this.running = false;
    await this.discovery;
    await Promise.all([...this.workers]);
    this.dynamo.destroy();
    this.streams.destroy();
  }

  stats(): StreamMappingStats {
    return { ...this.counters, shards: this.shards.size };
  }

  /**
   * Resolves once every record written before the call has been delivered (or given up on): each
   * shard's buffer is empty and a GetRecords after the call came back empty.
   */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    const since = Date.now();
    const deadline = since + timeoutMs;
    await this.refreshShards(false);
    for (;;) {
      const open = [...this.shards.values()].filter((s) => !s.done);
      if (open.every((s) => s.buffer.length === 0 && !s.busy && (s.ended || s.emptyAt > since))) return;
      if (Date.now() > deadline) throw new Error(`stream of ${this.config.tableName} not delivered within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  private async refreshShards(initial: boolean): Promise<void> {
    const found: Shard[] = [];
    let after: string | undefined;
    do {
      const out = await this.streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: after, Limit: 100 }));
      found.push(...(out.StreamDescription?.Shards ?? []));
      after = out.StreamDescription?.LastEvaluatedShardId;
    } while (after);
    for (const shard of found) {
      if (!shard.ShardId || this.shards.has(shard.ShardId)) continue;
      const st: ShardState = {
        shardId: shard.ShardId,
        parent: shard.ParentShardId,
        iterator: undefined,
        lastFetched: undefined,
        ended: false,
        done: false,
        buffer: [],
        nextPos: 0,
        retry: undefined,
        emptyAt: 0,
        windowStart: Date.now(),
        busy: false,
        redeliver: undefined,
      };
      this.shards.set(shard.ShardId, st);
      // Shards found at start begin where the mapping is told to; later ones (splits, roll-overs) from their start.
      const position = initial ? this.config.startingPosition : 'TRIM_HORIZON';
      const worker = this.work(st, position).finally(() => this.workers.delete(worker));
      this.workers.add(worker);
    }
  }

  private async iterator(st: ShardState, position: 'TRIM_HORIZON' | 'LATEST'): Promise<string | undefined> {
    const input = st.lastFetched
      ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: st.lastFetched }
      : { ShardIteratorType: position };
    const out = await this.streams.send(new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: st.shardId, ...input }));
    return out.ShardIterator;
  }

  /** GetRecords' most records per call. */
  private static readonly PAGE = 1_000;

  /** Reads what the shard has next into its buffer; the number of records that came. */
  private async fetch(st: ShardState, position: 'TRIM_HORIZON' | 'LATEST'): Promise<number> {
    if (st.ended) return 0;
    try {
      st.iterator ??= await this.iterator(st, position);
      if (!st.iterator) {
        st.ended = true;
        return 0;
      }
      // When it was asked, not answered: an empty answer to a request sent before a write proves
      // nothing about that write, and caughtUp() relies on this time.
      const askedAt = Date.now();
      const out = await this.streams.send(new GetRecordsCommand({ ShardIterator: st.iterator, Limit: DynamoStreamMapping.PAGE }));
      st.iterator = out.NextShardIterator;
      if (!st.iterator) st.ended = true;
      const records = out.Records ?? [];
      if (records.length === 0) {
        st.emptyAt = askedAt;
        return 0;
      }
      if (st.buffer.length === 0) st.windowStart = Date.now();
      for (const r of records) {
        const record = toLambdaRecord(r, this.streamArn);
        const at = r.dynamodb?.ApproximateCreationDateTime ? new Date(r.dynamodb.ApproximateCreationDateTime).getTime() : Date.now();
        st.buffer.push({ pos: st.nextPos++, record, at, bytes: Buffer.byteLength(JSON.stringify(record)) + 1 });
        st.lastFetched = r.dynamodb?.SequenceNumber ?? st.lastFetched;
      }
      return records.length;
    } catch (err) {
      // An expired or trimmed iterator: start again after the last record fetched.
      this.opts.log?.('GetRecords failed; a fresh iterator follows', { shardId: st.shardId, error: errorMessage(err) });
      st.iterator = undefined;
      await sleep(this.config.local.retryBackoffBaseMs);
      return 0;
    }
  }

  private async work(st: ShardState, position: 'TRIM_HORIZON' | 'LATEST'): Promise<void> {
    const { batchSize, maxBatchingWindow, local } = this.config;
    // A child shard waits until its parent is drained: per-key order spans the split.
    while (this.running && st.parent && this.shards.has(st.parent) && !this.shards.get(st.parent)!.done) await sleep(local.pollIntervalMs);
    while (this.running) {
      const inRetry = st.retry !== undefined || st.redeliver !== undefined;
      if (!inRetry && st.buffer.length < batchSize && !st.ended) {
        const got = await this.fetch(st, position);
        // A full page: the shard holds more right now.
        if (got === DynamoStreamMapping.PAGE) continue;
        if (st.buffer.length === 0) {
          if (st.ended) break;
          await sleep(local.pollIntervalMs);
          continue;
        }
        // Batching window: wait for more records while the window lasts.
        const remaining = st.windowStart + maxBatchingWindow * 1000 - Date.now();
        if (st.buffer.length < batchSize && remaining > 0) {
          await sleep(Math.min(remaining, local.pollIntervalMs));
          continue;
        }
      }
      if (st.buffer.length === 0) break;
      await this.deliver(st);
    }
    if (st.ended && st.buffer.length === 0) st.done = true;
  }

  /** One invocation of the buffer's head, and what follows it. */
  private async deliver(st: ShardState): Promise<void> {
    const { local } = this.config;
    const inBisect = st.retry?.bisectEnd !== undefined && st.buffer[0]!.pos <= st.retry.bisectEnd;
    const limit = st.redeliver ?? (inBisect ? st.retry!.bisectSize! : this.config.batchSize);
    st.redeliver = undefined;
    const batch: Buffered[] = [];
    let bytes = 16;
    for (const b of st.buffer) {
      if (batch.length >= limit || (batch.length > 0 && bytes + b.bytes > local.maxPayloadBytes)) break;
      batch.push(b);
      bytes += b.bytes;
    }
    const attempt = (st.retry && st.retry.offset === batch[0]!.pos ? st.retry.attempts : 0) + 1;
    st.busy = true;
    let result: InvokeResult;
    try {
      result = await this.invoke(st.shardId, batch, attempt);
    } finally {
      st.busy = false;
    }
    const decision = decideDelivery({
      result,
      batch: { offsets: batch.map((b) => b.pos), timestamps: batch.map((b) => b.at) },
      retry: st.retry,
      settings: { ...this.config, retryBackoffBaseMs: local.retryBackoffBaseMs, retryBackoffMaxMs: local.retryBackoffMaxMs },
      afterSuccess: result.outcome === 'success' ? this.opts.faults?.afterSuccess(st.shardId, batch.length) : undefined,
      now: Date.now(),
    });
    const consume = (n: number) => {
      st.buffer.splice(0, n);
      st.windowStart = Date.now();
    };
    if (decision.action === 'redeliver') {
      // The checkpoint was lost: the same records come again, possibly cut differently.
      st.redeliver = decision.recutTo;
      return;
    }
    if (decision.action === 'commit') {
      this.counters.recordsSucceeded += decision.consumed;
      consume(decision.consumed);
      st.retry = decision.retry;
      return;
    }
    if (decision.commitFirst) {
      this.counters.recordsSucceeded += decision.commitFirst.consumed;
      consume(decision.commitFirst.consumed);
    }
    const error = result.outcome === 'success' ? '' : result.error;
    if (decision.action === 'give-up') {
      const failed = batch.slice(decision.failedFromIndex);
      await this.giveUp(st.shardId, failed, decision.reason === 'record-age-exceeded' ? 'RecordAgeExceeded' : 'RetryAttemptsExhausted', error, decision.attempts);
      consume(failed.length);
      st.retry = undefined;
      return;
    }
    st.retry = decision.retry;
    this.counters.retries++;
    this.opts.log?.('retrying', { shardId: st.shardId, attempts: decision.retry.attempts, delayMs: decision.delayMs, error });
    await sleep(decision.delayMs);
  }

  private async invoke(shardId: string, batch: Buffered[], attempt: number): Promise<InvokeResult> {
    const event: DynamoDBStreamEvent = { Records: batch.map((b) => structuredClone(b.record)) };
    const timeoutMs = this.config.local.functionTimeoutSeconds * 1000;
    this.counters.invocations++;
    this.counters.recordsDelivered += batch.length;
    let timer: NodeJS.Timeout | undefined;
    let result: InvokeResult;
    try {
      const response = await Promise.race([
        Promise.resolve().then(() => this.handler(event, this.context(Date.now() + timeoutMs))),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Task timed out after ${timeoutMs / 1000} seconds`)), timeoutMs);
        }),
      ]);
      result = interpretStreamResponse(batch, response, this.config.reportBatchItemFailures);
    } catch (err) {
      result = { outcome: 'error', error: errorMessage(err) };
    } finally {
      clearTimeout(timer);
    }
    if (result.outcome !== 'success') this.counters.failedInvocations++;
    this.emit('invocation', { shardId, records: batch.length, attempt, outcome: result.outcome, ...(result.outcome !== 'success' ? { error: result.error } : {}) });
    return result;
  }

  private async giveUp(shardId: string, failed: Buffered[], condition: StreamFailureRecord['requestContext']['condition'], error: string, attempts: number): Promise<void> {
    const name = this.config.local.functionName;
    const record: StreamFailureRecord = {
      requestContext: { requestId: randomUUID(), functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`, condition, approximateInvokeCount: attempts },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: error.slice(0, 1024) },
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId,
        startSequenceNumber: failed[0]!.record.dynamodb!.SequenceNumber!,
        endSequenceNumber: failed.at(-1)!.record.dynamodb!.SequenceNumber!,
        approximateArrivalOfFirstRecord: new Date(failed[0]!.at).toISOString(),
        approximateArrivalOfLastRecord: new Date(failed.at(-1)!.at).toISOString(),
        batchSize: failed.length,
        streamArn: this.streamArn,
      },
    };
    this.failures.push(record);
    this.counters.batchesSentToOnFailure++;
    this.counters.recordsSentToOnFailure += failed.length;
    await this.opts.onFailure?.(record);
    this.emit('failure', record);
  }

  private context(deadline: number): Context {
    return lambdaContext(this.config.local.functionName, 512, deadline);
  }

}

/**
 * Creates a local DynamoDB stream event source mapping for `handler`; the config uses CDK's
 * `DynamoEventSource` property names (stream-config.ts). Call `start()` to begin.
 *
 * @throws z.ZodError when the config is invalid.
 */
export function createStreamMapping(opts: StreamMappingOptions): DynamoStreamMapping {
  return new DynamoStreamMapping(opts);
}
