/**
 * The whole system on one machine: services, the ingest function behind one emulated event source
 * mapping per topic, and the closer on a local schedule. Tests and `npm start` both run this.
 */
import { createEventSourceMapping, type EsmStats, type EventSourceMapping, type PartitionLag } from '../esm/event-source-mapping.ts';
import { createStreamMapping, type DynamoStreamMapping } from '../esm/dynamodb-stream-mapping.ts';
import type { Chaos } from '../chaos/chaos.ts';
import { deliveryFaults, streamDeliveryFaults } from '../chaos/delivery-faults.ts';
import { injectCloserFaults, injectIngestFaults } from '../chaos/dynamo-faults.ts';
import { startRuntimeFaults, type RuntimeFaults } from '../chaos/runtime-faults.ts';
import type { CloserReport } from '../../lib/closer/close-windows.ts';
import { alertStreamMapping, DEFAULT_FAILURE_TOPIC, DEFAULT_WATERMARK_DELAY_MS, defaultMappings } from '../../lib/config/deployment.ts';
import { lambdaContext, loadFunctions, localConsumerGroup, type FunctionSettings, type LocalFunctions } from './functions.ts';
import { startServices, type Services, type ServicesOptions } from './services.ts';
import { AppliedLog } from '../latency/applied-log.ts';
import { SINGLE_PASS_EVENT } from '../../lib/closer/closer-handler.ts';

export interface RuntimeOptions extends ServicesOptions, Partial<FunctionSettings> {
  /** Wall-clock interval of the closer schedule (AWS: rate(1 minute)). */
  closerIntervalMs?: number;
  /**
   * Whether a scheduled closer invocation runs a session (lib/closer/session.ts) as the stack's do:
   * three quarters of the interval, a pass every tenth of it. Default true; `runCloser` is always one pass.
   */
  closerSessions?: boolean;
  /** Start the schedule at once (default true). */
  schedule?: boolean;
  batchSize?: number;
  /**
   * Every source mapping's batching window in seconds, instead of defaultMappings' (unset there:
   * AWS's 500 ms). Locally any fraction goes, so the bench can compare 0.5 s with 1 s in one build.
   */
  maxBatchingWindow?: number;
  onCloserRun?: (report: CloserReport, startedAt: number) => void;
  /** Each closer pass as it ends (a session runs several per invocation): its report, start and end. */
  onCloserPass?: (report: CloserReport, startedAt: number, endedAt: number) => void;
  onError?: (where: string, err: unknown) => void;
  /** Inject faults while running (see local/chaos). */
  chaos?: Chaos;
}

export interface LocalRuntime {
  services: Services;
  functions: LocalFunctions;
  mappings: EventSourceMapping[];
  /** The alerts table's stream mapping, which feeds the dispatcher. */
  alertStream: DynamoStreamMapping;
  /** Resolves once every alert recorded so far has been through the dispatcher. */
  alertsDispatched(timeoutMs?: number): Promise<void>;
  /** One closer invocation now (serialised with scheduled ones). */
  runCloser(): Promise<CloserReport>;
  /** Total records not yet committed by the mappings. */
  lag(): Promise<number>;
  /** The same, per partition of every mapping. */
  partitionLags(): Promise<PartitionLag[]>;
  /** Starts the mappings again after stopMappings (they resume from committed offsets). */
  startMappings(): Promise<void>;
  stopMappings(): Promise<void>;
  /** Stops the closer schedule (runCloser still works). */
  stopSchedule(): void;
  /** Waits for the closer run in flight, if any: its report, or undefined when none ran or it failed. */
  whenCloserIdle(): Promise<CloserReport | undefined>;
  /** When ingest applied each record, from every mapping's successful invocations (local/latency). */
  applied: AppliedLog;
  /** Counters of every mapping this runtime has run, restarted ones included. */
  allMappingStats(): EsmStats[];
  /** Ends the chaos that runs on its own (mapping kills, concurrent closers); client faults stay. */
  calmDown(): Promise<void>;
  stop(): Promise<void>;
}

const SCHEDULED_EVENT = Object.freeze({ source: 'aws.events', 'detail-type': 'Scheduled Event' });

/** The session a local scheduled closer runs: the stack's shape (lib/closer/session.ts) on the local interval. */
export function localCloserSession(intervalMs: number): { sessionMs: number; pollMs: number } {
  return { sessionMs: Math.round(intervalMs * 0.75), pollMs: Math.max(100, Math.round(intervalMs / 10)) };
}

export async function startRuntime(o: RuntimeOptions = {}): Promise<LocalRuntime> {
  const services = await startServices(o);
  let stopped = false;
  let mappings: EventSourceMapping[] = [];
  let alertStream: DynamoStreamMapping | undefined;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribePasses = () => {};
  try {
    const functions = await loadFunctions(services, {
      watermarkDelayMs: o.watermarkDelayMs ?? DEFAULT_WATERMARK_DELAY_MS,
      idleTimeoutMs: o.idleTimeoutMs ?? 5_000,
      ruleCacheTtlMs: o.ruleCacheTtlMs ?? 1_000,
      // The functions' own default (7 days) unless told otherwise: windows of old event times live a
      // retention from when they were written (lib/store/retention.ts), so old dates replay safely.
      retentionDays: o.retentionDays,
      ...((o.closerSessions ?? true) && (o.schedule ?? true) ? { closerSession: localCloserSession(o.closerIntervalMs ?? 60_000) } : {}),
    });
    const onPass = o.onCloserPass;
    if (onPass) unsubscribePasses = functions.onCloserPass((report, startedAt) => onPass(report, startedAt, Date.now()));
    const chaos = o.chaos;
    if (chaos) {
      injectIngestFaults(functions.clients.ingest, chaos, services.tables);
      injectCloserFaults(functions.clients.closer, chaos, services.tables);
    }
    const ingest: typeof functions.ingest = chaos ? (event, context) => chaos.invocation(() => functions.ingest(event, context)) : functions.ingest;
    // The outbox: the alerts table's stream, through the deployed dispatcher handler, to the alert topic.
    const dispatch: typeof functions.dispatchAlerts = chaos ? (event, context) => chaos.dispatch(() => functions.dispatchAlerts(event, context)) : functions.dispatchAlerts;
    const stream = createStreamMapping({
      config: {
        tableName: services.tables.alerts,
        endpoint: services.dynamoEndpoint,
        ...alertStreamMapping,
        local: { functionName: 'streamguard-dispatcher', pollIntervalMs: 100, retryBackoffBaseMs: 50, retryBackoffMaxMs: 2_000 },
      },
      handler: (event, context) => dispatch(event, context),
      ...(chaos ? { faults: streamDeliveryFaults(chaos) } : {}),
    });
    await stream.start();
    alertStream = stream;
    const everyMapping: EventSourceMapping[] = [];
    const applied = new AppliedLog();
    const makeMapping = (m: (typeof defaultMappings)[number]) => {
      const mapping = createEventSourceMapping({
          config: {
            topic: m.topic,
            bootstrapServers: services.brokers,
            batchSize: o.batchSize ?? m.batchSize,
            maxBatchingWindow: o.maxBatchingWindow ?? m.maxBatchingWindow,
            startingPosition: m.startingPosition,
            retryAttempts: m.retryAttempts,
            maxRecordAge: m.maxRecordAge,
            bisectBatchOnError: m.bisectBatchOnError,
            reportBatchItemFailures: m.reportBatchItemFailures,
            onFailure: DEFAULT_FAILURE_TOPIC,
            consumerGroupId: localConsumerGroup(m.topic),
            local: {
              functionName: 'streamguard-ingest',
              retryBackoffBaseMs: 50,
              retryBackoffMaxMs: 2_000,
              // The mock's lowest: a killed mapping's successor rejoins after session timeout - 1 s.
              ...(chaos ? { sessionTimeoutMs: 4_000, heartbeatIntervalMs: 300 } : {}),
            },
          },
          handler: (event, context) => ingest(event, context),
          ...(chaos ? { faults: deliveryFaults(chaos) } : {}),
        });
      mapping.on('invocation', (e) => applied.note(e, Date.now()));
      everyMapping.push(mapping);
      return mapping;
    };
    const makeMappings = () => defaultMappings.map(makeMapping);

    let closing: Promise<CloserReport> | undefined;
    const partitionLags = async (): Promise<PartitionLag[]> => (await Promise.all(mappings.map((m) => m.lag()))).flat();
    const runCloser = async (): Promise<CloserReport> => {
      while (closing) await closing.catch(() => {});
      const startedAt = Date.now();
      closing = invokeCloser(60_000, SINGLE_PASS_EVENT);
      try {
        const report = await closing;
        o.onCloserRun?.(report, startedAt);
        return report;
      } finally {
        closing = undefined;
      }
    };

    /** Kills one mapping (nothing in flight is committed) and starts a fresh one in its place. */
    const killAndRestart = async (index: number) => {
      const old = mappings[index];
      if (!old) throw new RangeError(`no mapping ${index}`);
      await old.kill();
      if (stopped) return;
      const fresh = makeMapping(defaultMappings[index]!);
      mappings[index] = fresh;
      await fresh.start();
    };
    /** As EventBridge invokes it (a session, when the functions run them), unless told to make one pass. */
    const invokeCloser = (timeoutMs: number, event: unknown = SCHEDULED_EVENT) => functions.closeWindows(event, lambdaContext('streamguard-close-windows', timeoutMs));
    const runScheduled = async (): Promise<void> => {
      const startedAt = Date.now();
      closing = invokeCloser(60_000);
      try {
        // Awaited on its own line: `o.onCloserRun?.(await closing)` would skip the await when no callback is set.
        const report = await closing;
        o.onCloserRun?.(report, startedAt);
      } finally {
        closing = undefined;
      }
    };
    let faults: RuntimeFaults | undefined;

    const runtime: LocalRuntime = {
      services,
      functions,
      get mappings() {
        return mappings;
      },
      alertStream: stream,
      alertsDispatched: (timeoutMs) => stream.caughtUp(timeoutMs),
      runCloser,
      async lag() {
        return (await partitionLags()).reduce((n, p) => n + p.lag, 0);
      },
      partitionLags,
      async startMappings() {
        mappings = makeMappings();
        await Promise.all(mappings.map((m) => m.start()));
      },
      applied,
      allMappingStats: () => everyMapping.map((m) => m.stats()),
      async calmDown() {
        await faults?.calm();
      },
      stopSchedule() {
        if (timer) clearInterval(timer);
        timer = undefined;
      },
      async whenCloserIdle() {
        return closing?.catch(() => undefined);
      },
      async stopMappings() {
        await Promise.all(mappings.map((m) => m.stop()));
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        if (timer) clearInterval(timer);
        await faults?.calm().catch(() => {});
        await Promise.all(mappings.map((m) => m.stop().catch(() => {})));
        await closing?.catch(() => {});
        unsubscribePasses();
        await stream.stop().catch(() => {});
        await functions.shutdown().catch(() => {});
        await services.stop();
      },
    };
    await runtime.startMappings();
    if (o.schedule ?? true) {
      timer = setInterval(() => {
        if (!closing) runScheduled().catch((err) => o.onError?.('closer', err));
      }, o.closerIntervalMs ?? 60_000);
    }
    if (chaos) {
      faults = startRuntimeFaults(chaos, {
        mappingCount: defaultMappings.length,
        killAndRestart,
        closerRunning: () => closing !== undefined,
        invokeCloser,
        onError: (where, err) => o.onError?.(where, err),
      });
    }
    return runtime;
  } catch (err) {
    unsubscribePasses();
    if (timer) clearInterval(timer);
    await Promise.all(mappings.map((m) => m.stop().catch(() => {})));
    await alertStream?.stop().catch(() => {});
    await services.stop();
    throw err;
  }
}
