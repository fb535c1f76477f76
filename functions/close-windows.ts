/**
 * Lambda entry point invoked on a schedule (EventBridge rate(1 minute)): closes every window the
 * watermark has passed, within this invocation's time, and records the alerts its rules raise (the
 * dispatcher, functions/dispatch-alerts.ts, sends them on from the alerts table's stream).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { CloserReport } from '../lib/closer/close-windows.ts';
import { createCloserHandler } from '../lib/closer/closer-handler.ts';
import { wireCloser } from '../lib/closer/wire.ts';
import { loadCloserConfig } from '../lib/config/closer-config.ts';
import { createDynamoClient } from '../lib/store/dynamodb/client.ts';

const logger = new Logger({ serviceName: 'streamguard-closer' });
// Its own warnings go through our logger: structured, and at our log level.
const metrics = new Metrics({ namespace: 'streamguard', serviceName: 'closer', logger });

const config = loadCloserConfig();
/** Exported so the local runtime can instrument it (fault injection); Lambda never needs it. */
export const dynamoClient = createDynamoClient();
const deps = wireCloser(dynamoClient, config, { log: logger });

/**
 * Told about each pass as it ends, with when it started: the local runtime times at-close alerts
 * against the closer's passes (local/latency). Lambda registers none.
 */
export const passListeners = new Set<(report: CloserReport, startedAt: number) => void>();

/** Each pass of a session: its own metrics (CloserDuration is a pass's, which its alarm watches) and log line. */
function record(report: CloserReport, startedAt: number): void {
  for (const listener of passListeners) listener(report, startedAt);
  for (const p of report.pipelines) {
    metrics.addMetric(`WindowsClosed_${p.pipeline}`, MetricUnit.Count, p.closed + p.recovered);
    metrics.addMetric(`AlertsFired_${p.pipeline}`, MetricUnit.Count, p.alerts);
  }
  metrics.addMetric('CloserDuration', MetricUnit.Milliseconds, Date.now() - startedAt);
  metrics.addMetric('CloserIncomplete', MetricUnit.Count, report.incomplete ? 1 : 0);
  // Alarmed (infra/monitoring.ts): each is a window with no result or alerts until an operator looks.
  metrics.addMetric('WindowsSetAside', MetricUnit.Count, report.setAside.length);
  for (const w of report.setAside) logger.error('window set aside', { ...w });
  logger.info('closer run', { ...report, setAside: report.setAside.length });
}

export const handler = middy(createCloserHandler(deps, record, config.session))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));

/** Disconnects the backlog's admin client; the local runtime calls it on shutdown (Lambda never needs to). */
export async function closeConnections(): Promise<void> {
  await deps.backlog?.close();
}
