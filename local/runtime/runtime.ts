/**
 * The whole system on one machine: services, the ingest function behind one emulated event source
 * mapping per topic, and the closer on a local schedule. Tests and `npm start` both run this.
 */
import { createEventSourceMapping, type EventSourceMapping } from '../esm/event-source-mapping.ts';
import type { CloserReport } from '../../lib/closer/close-windows.ts';
import { DEFAULT_FAILURE_TOPIC, defaultMappings } from '../../lib/config/deployment.ts';
import { lambdaContext, loadFunctions, type FunctionSettings, type LocalFunctions } from './functions.ts';
import { startServices, type Services, type ServicesOptions } from './services.ts';

export interface RuntimeOptions extends ServicesOptions, Partial<FunctionSettings> {
  /** Wall-clock interval of the closer schedule (AWS: rate(1 minute)). */
  closerIntervalMs?: number;
  /** Start the schedule at once (default true). */
  schedule?: boolean;
  batchSize?: number;
  onCloserRun?: (report: CloserReport, startedAt: number) => void;
  onError?: (where: string, err: unknown) => void;
}

export interface LocalRuntime {
  services: Services;
  functions: LocalFunctions;
  mappings: EventSourceMapping[];
  /** One closer invocation now (serialised with scheduled ones). */
  runCloser(): Promise<CloserReport>;
  /** Total records not yet committed by the mappings. */
  lag(): Promise<number>;
  /** Starts the mappings again after stopMappings (they resume from committed offsets). */
  startMappings(): Promise<void>;
  stopMappings(): Promise<void>;
  /** Stops the closer schedule (runCloser still works). */
  stopSchedule(): void;
  stop(): Promise<void>;
}

export async function startRuntime(o: RuntimeOptions = {}): Promise<LocalRuntime> {
  const services = await startServices(o);
  let stopped = false;
  let mappings: EventSourceMapping[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    const functions = await loadFunctions(services, {
      watermarkDelayMs: o.watermarkDelayMs ?? 600_000,
      idleTimeoutMs: o.idleTimeoutMs ?? 5_000,
      ruleCacheTtlMs: o.ruleCacheTtlMs ?? 1_000,
    });
    const makeMappings = () =>
      defaultMappings.map((m) =>
        createEventSourceMapping({
          config: {
            topic: m.topic,
            bootstrapServers: services.brokers,
            batchSize: o.batchSize ?? m.batchSize,
            maxBatchingWindow: m.maxBatchingWindow,
            startingPosition: m.startingPosition,
            retryAttempts: m.retryAttempts,
            maxRecordAge: m.maxRecordAge,
            bisectBatchOnError: m.bisectBatchOnError,
            reportBatchItemFailures: m.reportBatchItemFailures,
            onFailure: DEFAULT_FAILURE_TOPIC,
            consumerGroupId: `streamguard-ingest-${m.topic}`,
            local: { functionName: 'streamguard-ingest', retryBackoffBaseMs: 50, retryBackoffMaxMs: 2_000 },
          },
          handler: (event, context) => functions.ingest(event, context),
        }),
      );

    let closing: Promise<CloserReport> | undefined;
    const runCloser = async (): Promise<CloserReport> => {
      while (closing) await closing.catch(() => {});
      const startedAt = Date.now();
      closing = functions.closeWindows({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, lambdaContext('streamguard-close-windows', 60_000));
      try {
        const report = await closing;
        o.onCloserRun?.(report, startedAt);
        return report;
      } finally {
        closing = undefined;
      }
    };

    const runtime: LocalRuntime = {
      services,
      functions,
      get mappings() {
        return mappings;
      },
      runCloser,
      async lag() {
        const lags = await Promise.all(mappings.map((m) => m.lag()));
        return lags.flat().reduce((n, p) => n + p.lag, 0);
      },
      async startMappings() {
        mappings = makeMappings();
        await Promise.all(mappings.map((m) => m.start()));
      },
      stopSchedule() {
        if (timer) clearInterval(timer);
        timer = undefined;
      },
      async stopMappings() {
        await Promise.all(mappings.map((m) => m.stop()));
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        if (timer) clearInterval(timer);
        await Promise.all(mappings.map((m) => m.stop().catch(() => {})));
        await closing?.catch(() => {});
        await functions.shutdown().catch(() => {});
        await services.stop();
      },
    };
    await runtime.startMappings();
    if (o.schedule ?? true) {
      timer = setInterval(() => {
        if (!closing) runCloser().catch((err) => o.onError?.('closer', err));
      }, o.closerIntervalMs ?? 60_000);
    }
    return runtime;
  } catch (err) {
    if (timer) clearInterval(timer);
    await Promise.all(mappings.map((m) => m.stop().catch(() => {})));
    await services.stop();
    throw err;
  }
}
