/** Configuration of the alert dispatcher (functions/dispatch-alerts.ts), from its environment. */
import * as z from '../zod.ts';
import type { KafkaTarget } from '../sinks/msk.ts';
import { DEFAULT_ALERT_TOPIC } from './deployment.ts';
import { ConfigError, parseEnv } from './env.ts';
import { KAFKA_TARGET_HINT, kafkaTargetEnv, kafkaTargetOf } from './kafka-target.ts';

export interface DispatcherConfig {
  alertTopic: string;
  kafka: KafkaTarget;
}

export function loadDispatcherConfig(env: NodeJS.ProcessEnv = process.env): DispatcherConfig {
  const e = parseEnv(
    {
      ALERT_TOPIC: z._default(z.string().check(z.regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a Kafka topic name')), DEFAULT_ALERT_TOPIC),
      ...kafkaTargetEnv,
    },
    env,
    'streamguard dispatch-alerts',
  );
  const kafka = kafkaTargetOf(e);
  if (!kafka) throw new ConfigError(`streamguard dispatch-alerts is misconfigured; ${KAFKA_TARGET_HINT} for the alert topic`);
  return { alertTopic: e.ALERT_TOPIC, kafka };
}
