/** Which pipelines read which topic, with one schema per topic so each record is validated once. */
import { PipelineDefinitionError } from '../errors.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';
import type { EventFamily } from '../schemas/family.ts';

export interface TopicRoute {
  topic: string;
  family: EventFamily<{ eventTime: number }>;
  pipelines: Pipeline[];
}

export type Router = Map<string, TopicRoute>;

/** Groups pipelines by topic; two pipelines on one topic must agree on its schema. */
export function createRouter(pipelines: readonly Pipeline[]): Router {
  const router: Router = new Map();
  const names = new Set<string>();
  for (const p of pipelines) {
    if (names.has(p.name)) throw new PipelineDefinitionError(`two pipelines are named "${p.name}"; names must be unique`);
    names.add(p.name);
    const route = router.get(p.source.topic);
    if (!route) {
      router.set(p.source.topic, { topic: p.source.topic, family: p.source.family, pipelines: [p] });
    } else if (route.family !== p.source.family) {
      throw new PipelineDefinitionError(
        `pipelines "${route.pipelines[0]!.name}" and "${p.name}" read topic "${p.source.topic}" with different event families; share one source()`,
      );
    } else {
      route.pipelines.push(p);
    }
  }
  return router;
}
