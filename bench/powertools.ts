/**
 * What a typical team writes with Powertools for AWS Lambda: one `kafkaConsumer` handler per topic
 * (an event source mapping reads one topic) that deserialises each record's JSON value and parses
 * it with the topic's zod schema (Powertools' `parserSchema`, Standard Schema), then for every
 * pipeline of that topic filters, keys and windows the event and updates a Map entry keyed by
 * "<pipeline>|<key>|<window start>". It ends, like our path, with each write's slot values built.
 *
 * The zod schemas are streamguard's own (`userEventSchema`, ...: raw shape plus normalisation), so
 * both paths accept and compute exactly the same thing; the aggregates are checked to match.
 */
import { SchemaType, kafkaConsumer } from '@aws-lambda-powertools/kafka';
import type { ConsumerRecords, MSKEvent } from '@aws-lambda-powertools/kafka/types';
import type { Context } from 'aws-lambda';
import type * as z from '../lib/zod.ts';
import type { KafkaEvent } from '../lib/codec/kafka-event.ts';
import { DeltaFolder, SlotStore } from '../lib/ingest/fold.ts';
import { slotWrites } from '../lib/ingest/apply.ts';
import type { WindowAggregate } from '../lib/ingest/plan.ts';
import { builtinPipelines } from '../lib/pipelines/builtin.ts';
import type { Pipeline } from '../lib/pipelines/pipeline.ts';
import { registrationSchema, telemetrySchema, userEventSchema } from '../lib/schemas/events.ts';
import { IOT_TELEMETRY, USER_EVENTS, USER_REGISTRATIONS } from '../lib/pipelines/topics.ts';

const SCHEMAS: Record<string, z.ZodMiniType<{ eventTime: number }, unknown>> = {
  [USER_EVENTS]: userEventSchema,
  [USER_REGISTRATIONS]: registrationSchema,
  [IOT_TELEMETRY]: telemetrySchema,
};

const context = { functionName: 'powertools-bench', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

type Handler = (event: KafkaEvent) => Promise<number>;

/** One handler per topic: Powertools deserialisation and zod parsing, then per-event Map updates. */
function handlerFor(topic: string, schema: z.ZodMiniType<{ eventTime: number }, unknown>): Handler {
  const pipelines = builtinPipelines.filter((p) => p.source.topic === topic) as Pipeline<{ eventTime: number }>[];
  const wrapped = kafkaConsumer<unknown, { eventTime: number }>(
    async (event: ConsumerRecords<unknown, { eventTime: number }>) => {
      const windows = new Map<string, { pipeline: Pipeline<{ eventTime: number }>; folder: DeltaFolder }>();
      // The engine's fold (one store for the batch's deltas), so only parsing and lookups differ.
      const store = new SlotStore();
      for (const record of event.records) {
        const e = record.value;
        for (const pipeline of pipelines) {
          const kept = pipeline.keep(e);
          if (!kept && pipeline.rejectedAs === undefined) continue;
          const key = pipeline.keyOf(e);
          if (key === undefined || key === '') continue;
          // The same stored units as the engine: the window, or a hopping pipeline's bucket (one per advance).
          const id = `${pipeline.name}|${key}|${pipeline.window.lastStartOf(e.eventTime)}`;
          let w = windows.get(id);
          if (!w) windows.set(id, (w = { pipeline, folder: new DeltaFolder(pipeline, store) }));
          w.folder.add(e, kept);
        }
      }
      let writes = 0;
      for (const w of windows.values()) writes += slotWrites({ pipeline: w.pipeline } as WindowAggregate, w.folder.delta()).length;
      return { aggregates: windows.size, writes };
    },
    { value: { type: SchemaType.JSON, parserSchema: schema } },
  );
  return async (event) => ((await wrapped(event as unknown as MSKEvent, context)) as { aggregates: number }).aggregates;
}

const handlers = new Map(Object.entries(SCHEMAS).map(([topic, schema]) => [topic, handlerFor(topic, schema)]));

/** Runs one single-topic batch through the Powertools path; returns its number of aggregates. */
export function powertoolsPath(event: KafkaEvent): Promise<number> {
  const first = Object.values(event.records)[0]?.[0];
  if (!first) return Promise.resolve(0);
  const handler = handlers.get(first.topic);
  if (!handler) throw new Error(`no Powertools handler for topic "${first.topic}"`);
  return handler(event);
}
