/**
 * The ingest function's memory high-water mark for one batch size, in a process of its own.
 * Started by bench/scaling.ts with the payload files it wrote (Lambda Kafka events as JSON text,
 * as the Lambda runtime receives them):
 *
 *   node --expose-gc --import tsx bench/memory-child.ts '{"files":["/tmp/…/0.json"],"out":"/tmp/…/r.json"}'
 *
 * It loads what the function loads (the ingest engine, the AWS SDK client), notes the resident set
 * size, then handles each payload: JSON.parse of the text, decode, plan, and every window write
 * request built and serialised as the SDK would send it, against stores that answer at once (no
 * network: the figure is the function's own memory). The heap is sampled every 2 ms while writes
 * are in flight; the peak RSS is the kernel's (process.resourceUsage().maxRSS).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { decodeKafkaEvent, type KafkaEvent } from '../lib/codec/kafka-event.ts';
import { ingestBatch, type IngestDeps } from '../lib/ingest/ingest-batch.ts';
import { createRouter } from '../lib/ingest/router.ts';
import { builtinPipelines } from '../lib/pipelines/builtin.ts';
import { buildWindowUpdate } from '../lib/store/dynamodb/window-store.ts';

export interface MemoryResult {
  batches: number;
  records: number;
  payloadBytes: number;
  /** After loading the modules, before any payload. */
  baselineRssBytes: number;
  peakRssBytes: number;
  peakHeapUsedBytes: number;
  baselineHeapUsedBytes: number;
  writeRequests: number;
  /** Bytes of write requests serialised (as the SDK would send them). */
  serialisedBytes: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as { files: string[]; out: string };
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

// What the function holds at init: a DynamoDB client (unused here) and the engine.
const client = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
let writeRequests = 0;
let serialised = 0;
const deps: IngestDeps = {
  router: createRouter(builtinPipelines),
  windows: {
    async write(w) {
      serialised += JSON.stringify(buildWindowUpdate(w, { tableName: 'windows', retentionMs: 7 * 86_400_000 })).length;
      writeRequests++;
      await new Promise((r) => setImmediate(r));
      return { applied: true, created: true };
    },
  },
  duePages: { put: async () => {} },
  watermarks: { read: async () => new Map(), advance: async () => {} },
  sideOutput: { put: async () => {} },
  options: { maxRecordBytes: 64 * 1024, writeConcurrency: 32, watermarkDelayMs: 600_000 },
};

gc();
const baselineRss = process.memoryUsage().rss;
const baselineHeap = process.memoryUsage().heapUsed;
let peakHeap = baselineHeap;
let peakRss = baselineRss;
const sample = () => {
  const m = process.memoryUsage();
  if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  if (m.rss > peakRss) peakRss = m.rss;
};
const timer = setInterval(sample, 2);

let records = 0;
let payloadBytes = 0;
for (const file of options.files) {
  gc();
  const text = readFileSync(file, 'utf8');
  payloadBytes += text.length;
  sample();
  const event = JSON.parse(text) as KafkaEvent;
  sample();
  const report = await ingestBatch(decodeKafkaEvent(event), deps);
  sample();
  records += report.records;
}
clearInterval(timer);
client.destroy();

const result: MemoryResult = {
  batches: options.files.length,
  records,
  payloadBytes,
  baselineRssBytes: baselineRss,
  peakRssBytes: Math.max(peakRss, process.resourceUsage().maxRSS * 1024),
  peakHeapUsedBytes: peakHeap,
  baselineHeapUsedBytes: baselineHeap,
  writeRequests,
  serialisedBytes: serialised,
};
writeFileSync(options.out, JSON.stringify(result));
