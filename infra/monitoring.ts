/**
 * Alarms and a dashboard: Lambda errors and throttles, Kafka OffsetLag and the alert stream's
 * IteratorAge (AWS/Lambda), and the EMF metrics the functions publish (namespace `streamguard`,
 * dimension `service` = ingest | closer | dispatcher).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StackConfig } from './config.ts';

/** Where the functions' Powertools metrics land (functions/ingest.ts, functions/close-windows.ts). */
export const METRICS_NAMESPACE = 'streamguard';

export interface MonitoringProps {
  ingest: lambda.IFunction;
  closer: lambda.IFunction;
  dispatcher: lambda.IFunction;
  /** The alert stream mapping's on-failure destination. */
  alertFailureQueue: sqs.IQueue;
  /** Pipeline names: the closer publishes AlertsFired_<pipeline>. */
  pipelines: string[];
  closerTimeoutMs: number;
  alarms: StackConfig['alarms'];
  failureQueue: sqs.IQueue | undefined;
  /** Whether Kafka event source mappings exist (OffsetLag is only emitted for them). */
  mappings: boolean;
}

export class Monitoring extends Construct {
  readonly alarms: Record<string, cw.Alarm> = {};
  readonly dashboard: cw.Dashboard;

  constructor(scope: Construct, id: string, p: MonitoringProps) {
    super(scope, id);
    const minute = Duration.minutes(1);
    const five = Duration.minutes(5);
    const emf = (service: 'ingest' | 'closer' | 'dispatcher', metricName: string, statistic: string, period = five) =>
      new cw.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service }, statistic, period });

    const ingestErrors = p.ingest.metricErrors({ period: minute, statistic: 'Sum' });
    const closerErrors = p.closer.metricErrors({ period: minute, statistic: 'Sum' });
    const ingestThrottles = p.ingest.metricThrottles({ period: five, statistic: 'Sum' });
    const closerThrottles = p.closer.metricThrottles({ period: five, statistic: 'Sum' });
    const dispatcherErrors = p.dispatcher.metricErrors({ period: minute, statistic: 'Sum' });
    const dispatcherThrottles = p.dispatcher.metricThrottles({ period: five, statistic: 'Sum' });
    // How old the newest alert record the dispatcher has read was when it read it: alerts waiting in the outbox.
    const iteratorAge = new cw.Metric({
      namespace: 'AWS/Lambda',
      metricName: 'IteratorAge',
      dimensionsMap: { FunctionName: p.dispatcher.functionName },
      statistic: 'Maximum',
      period: minute,
    });
    const dispatched = emf('dispatcher', 'AlertsDispatched', 'Sum');
    const offsetLag = new cw.Metric({
      namespace: 'AWS/Lambda',
      metricName: 'OffsetLag',
      dimensionsMap: { FunctionName: p.ingest.functionName },
      statistic: 'Maximum',
      period: five,
    });
    const quarantined = emf('ingest', 'Quarantined', 'Sum');
    const late = emf('ingest', 'LateEvents', 'Sum');
    const closerDuration = emf('closer', 'CloserDuration', 'Maximum');
    const setAside = emf('closer', 'WindowsSetAside', 'Sum');
    const alertsBy = p.pipelines.map((name) => emf('closer', `AlertsFired_${name}`, 'Sum').with({ label: name }));
    const alertsFired = new cw.MathExpression({
      expression: alertsBy.map((_, i) => `FILL(a${i}, 0)`).join(' + ') || '0',
      usingMetrics: Object.fromEntries(alertsBy.map((m, i) => [`a${i}`, m])),
      label: 'alerts fired (all pipelines)',
      period: five,
    });

    const action = p.alarms.topicArn ? new cwActions.SnsAction(sns.Topic.fromTopicArn(this, 'AlarmTopic', p.alarms.topicArn)) : undefined;
    const alarm = (id: string, description: string, metric: cw.IMetric, threshold: number, evaluationPeriods: number, datapointsToAlarm: number) => {
      const a = new cw.Alarm(this, id, {
        alarmDescription: `streamguard: ${description}`,
        metric,
        threshold,
        evaluationPeriods,
        datapointsToAlarm,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      });
      if (action) a.addAlarmAction(action);
      this.alarms[id] = a;
      return a;
    };

    alarm('IngestErrors', 'ingest invocations failing (whole batches retried) in 3 of the last 5 minutes', ingestErrors, 1, 5, 3);
    alarm('CloserErrors', 'window closer failing in 3 of the last 5 minutes', closerErrors, 1, 5, 3);
    alarm('IngestThrottles', 'ingest throttled', ingestThrottles, 1, 3, 2);
    alarm('CloserThrottles', 'closer throttled', closerThrottles, 1, 3, 2);
    alarm('DispatcherErrors', 'alert dispatcher failing (alerts retried from the stream) in 3 of the last 5 minutes', dispatcherErrors, 1, 5, 3);
    alarm('DispatcherThrottles', 'alert dispatcher throttled', dispatcherThrottles, 1, 3, 2);
    alarm('AlertIteratorAge', `alert records waiting more than ${p.alarms.alertIteratorAgeMs / 1000} s to be sent (IteratorAge of the alerts stream)`, iteratorAge, p.alarms.alertIteratorAgeMs, 3, 2);
    alarm(
      'AlertDeliveryFailures',
      'alert records the stream mapping gave up on (see the alert delivery failure queue and the README runbook)',
      p.alertFailureQueue.metricApproximateNumberOfMessagesVisible({ period: five, statistic: 'Maximum' }),
      1,
      1,
      1,
    );
    if (p.mappings) alarm('OffsetLag', `Kafka consumer lag above ${p.alarms.offsetLag} records for 15 minutes`, offsetLag, p.alarms.offsetLag, 3, 3);
    alarm('Quarantined', `more than ${p.alarms.quarantined} records quarantined in 5 minutes (bad input)`, quarantined, p.alarms.quarantined, 1, 1);
    alarm('LateEvents', `more than ${p.alarms.lateEvents} late events in 5 minutes (watermark delay too short?)`, late, p.alarms.lateEvents, 1, 1);
    alarm('CloserDuration', 'closer runs near its timeout (windows left for the next run)', closerDuration, Math.floor(p.closerTimeoutMs * 0.8), 3, 2);
    // Any: a set-aside window gets no result or alerts until someone looks (records: pk "aside#<pipeline>" in the alerts table).
    alarm('WindowsSetAside', 'windows the closer could not close were set aside (see the "aside#<pipeline>" records of the alerts table)', setAside, 1, 1, 1);
    alarm('AlertsFired', `risk alerts fired (${p.alarms.alertsFired} or more in 5 minutes)`, alertsFired, p.alarms.alertsFired, 1, 1);
    if (p.failureQueue) {
      alarm(
        'IngestFailures',
        'records the event source mappings gave up on (see the failure queue)',
        p.failureQueue.metricApproximateNumberOfMessagesVisible({ period: five, statistic: 'Maximum' }),
        1,
        1,
        1,
      );
    }

    const graph = (title: string, left: cw.IMetric[], width = 8) => new cw.GraphWidget({ title, left, width, height: 6 });
    this.dashboard = new cw.Dashboard(this, 'Dashboard', { dashboardName: `${Stack.of(this).stackName}-streamguard` });
    this.dashboard.addWidgets(
      graph('Ingest errors / throttles', [ingestErrors, ingestThrottles.with({ period: minute })]),
      graph('Kafka OffsetLag (max)', [offsetLag]),
      graph('Quarantined / late events', [quarantined, late]),
    );
    this.dashboard.addWidgets(
      graph('Closer duration (ms, max) / windows set aside', [closerDuration, setAside]),
      graph('Alerts fired by pipeline', alertsBy),
      graph('Closer errors / throttles', [closerErrors, closerThrottles.with({ period: minute })]),
    );
    this.dashboard.addWidgets(
      graph('Alerts dispatched', [dispatched]),
      graph('Alert stream IteratorAge (ms, max)', [iteratorAge]),
      graph('Dispatcher errors / throttles', [dispatcherErrors, dispatcherThrottles.with({ period: minute })]),
    );
    this.dashboard.addWidgets(new cw.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24, height: 3 }));
  }
}

export function addMonitoring(scope: Construct, props: MonitoringProps): Monitoring {
  return new Monitoring(scope, 'Monitoring', props);
}
