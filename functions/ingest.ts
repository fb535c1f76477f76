/**
 * Lambda entry point for Kafka event source mappings (Amazon MSK or self-managed Kafka).
 * Configuration is read once per container; a misconfigured function fails at init, not per batch.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { loadIngestConfig } from '../lib/config/ingest-config.ts';
import type { IngestReport } from '../lib/ingest/ingest-batch.ts';
import { createIngestHandler } from '../lib/ingest/kafka-handler.ts';
import { wireIngest } from '../lib/ingest/wire.ts';
import { createDynamoClient } from '../lib/store/dynamodb/client.ts';

const logger = new Logger({ serviceName: 'streamguard-ingest' });
// Its own warnings go through our logger: structured, and at our log level.
const metrics = new Metrics({ namespace: 'streamguard', serviceName: 'ingest', logger });

/** Exported so the local runtime can instrument it (fault injection); Lambda never needs it. */
export const dynamoClient = createDynamoClient();
const config = loadIngestConfig();
const deps = wireIngest(dynamoClient, config, undefined, undefined, logger);
deps.onTransient = (err) => logger.warn('transient storage failure; the partition resumes from the affected offset', { error: err });

function record(report: IngestReport): void {
  metrics.addMetric('RecordsReceived', MetricUnit.Count, report.records);
  metrics.addMetric('RecordsFiltered', MetricUnit.Count, report.filtered);
  metrics.addMetric('Quarantined', MetricUnit.Count, report.quarantined);
  metrics.addMetric('LateEvents', MetricUnit.Count, report.late);
  metrics.addMetric('WindowWrites', MetricUnit.Count, report.windowWrites);
  metrics.addMetric('DuplicateDeliveries', MetricUnit.Count, report.duplicates);
  metrics.addMetric('PartitionsResumed', MetricUnit.Count, report.resumeAt.size);
  if (deps.early) {
    metrics.addMetric('EarlyAlerts', MetricUnit.Count, report.earlyAlerts);
    // Not lost (the next write to the window or the closer raises them), but later than they could be.
    metrics.addMetric('EarlyAlertsFailed', MetricUnit.Count, report.earlyAlertsFailed);
  }
  if (deps.sequences) {
    metrics.addMetric('SequenceAlerts', MetricUnit.Count, report.sequenceAlerts);
    metrics.addMetric('SequenceStateWrites', MetricUnit.Count, report.sequenceWrites);
    metrics.addMetric('SequenceLateEvents', MetricUnit.Count, report.sequenceLate);
  }
  if (report.quarantined > 0 || report.late > 0 || report.resumeAt.size > 0) {
    logger.info('batch ingested with side outputs', { ...report, resumeAt: Object.fromEntries(report.resumeAt) });
  }
}

export const handler = middy(createIngestHandler(deps, record, { reportBatchItemFailures: config.reportBatchItemFailures }))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
