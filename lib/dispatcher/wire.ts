/** Builds the dispatcher's dependencies from configuration: where adapters meet the domain. */
import type { DispatcherConfig } from '../config/dispatcher-config.ts';
import { KafkaAlertSink } from '../sinks/kafka-alert-sink.ts';
import { kafkaFor } from '../sinks/msk.ts';
import { alertFromItem } from '../store/dynamodb/alert-store.ts';
import type { DispatcherDeps } from './dispatch-alerts.ts';

export function wireDispatcher(config: DispatcherConfig): DispatcherDeps & { sink: KafkaAlertSink } {
  return {
    // Further sinks (EventBridge, SNS) would be AlertSinks here, emitted to in turn.
    sink: new KafkaAlertSink(() => kafkaFor(config.kafka, 'streamguard-dispatcher'), config.alertTopic),
    decode: alertFromItem,
  };
}
