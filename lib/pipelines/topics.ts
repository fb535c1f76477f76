/**
 * The source topics of the built-in pipelines, as the source system names them (docs/design.md,
 * "The pipelines"). Named here once: the pipeline declarations, the deployment settings, the local
 * runtime, the generator, verify and the bench import them (the verification reference keeps its
 * own copy on purpose, local/verify/reference/reference.ts).
 */
export const USER_EVENTS = 'user_events';
export const USER_REGISTRATIONS = 'user_registrations';
export const IOT_TELEMETRY = 'iot_telemetry';

/** Every source topic, in the order the generator and the tools list them. */
export const SOURCE_TOPICS = [USER_EVENTS, USER_REGISTRATIONS, IOT_TELEMETRY] as const;
export type SourceTopic = (typeof SOURCE_TOPICS)[number];

/** Whether `topic` is one of the source topics. */
export function isSourceTopic(topic: string): topic is SourceTopic {
  return (SOURCE_TOPICS as readonly string[]).includes(topic);
}
