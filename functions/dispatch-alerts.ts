/**
 * Lambda entry point for the alerts table's DynamoDB stream (an event source mapping with
 * ReportBatchItemFailures): sends each new alert record to the alert topic, at least once. The
 * only function that produces to Kafka. docs/design.md, "Alert delivery".
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadDispatcherConfig } from '../lib/config/dispatcher-config.ts';
import { createDispatcherHandler, type DispatchReport } from '../lib/dispatcher/dispatch-alerts.ts';
import { wireDispatcher } from '../lib/dispatcher/wire.ts';

const logger = new Logger({ serviceName: 'streamguard-dispatcher' });
// Its own warnings go through our logger: structured, and at our log level.
const metrics = new Metrics({ namespace: 'streamguard', serviceName: 'dispatcher', logger });

const config = loadDispatcherConfig();
const deps = wireDispatcher(config);

function record(report: DispatchReport): void {
  metrics.addMetric('AlertsDispatched', MetricUnit.Count, report.sent);
  metrics.addMetric('DispatchFailures', MetricUnit.Count, report.failedAt === undefined ? 0 : 1);
  // Named for an operator: the mapping retries from this record, then hands the batch to the queue.
  if (report.failedAt !== undefined) logger.warn('alert not delivered; the mapping resumes from it', { ...report });
}

export const handler = middy(createDispatcherHandler(deps, record))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));

/** Disconnects the alert producer; the local runtime calls it on shutdown (Lambda never needs to). */
export async function closeConnections(): Promise<void> {
  await deps.sink.close();
}
