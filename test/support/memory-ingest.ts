/**
 * Ingest on the in-memory adapters, for unit tests of the closer: the real handler over
 * `memoryStores`, and a small payment spree to feed it.
 */
import { createIngestHandler } from '../../lib/ingest/kafka-handler.ts';
import { createRouter } from '../../lib/ingest/router.ts';
import type { Pipeline } from '../../lib/pipelines/pipeline.ts';
import type { memoryStores } from '../../lib/store/memory/index.ts';
import { T0 } from './records.ts';

/** The ingest handler writing to `stores`, with no watermark delay. */
export function memoryIngest(stores: ReturnType<typeof memoryStores>, pipelines: readonly Pipeline[]) {
  return createIngestHandler({
    router: createRouter(pipelines),
    windows: stores.windows,
    duePages: stores.duePages,
    watermarks: stores.watermarks,
    sideOutput: stores.sideOutput,
    options: { maxRecordBytes: 65_536, writeConcurrency: 4, watermarkDelayMs: 0 },
  });
}

/** `n` payments of 5 by user u1 on partition 0 of user_events, one a second from T0. */
export function paymentSpree(n = 12) {
  return Array.from({ length: n }, (_, i) => ({
    topic: 'user_events',
    partition: 0,
    offset: i,
    key: 'u1',
    value: { user_id: 'u1', action: 'payment', amount: 5, timestamp: T0 + i * 1_000 },
    timestamp: T0 + i * 1_000,
  }));
}
