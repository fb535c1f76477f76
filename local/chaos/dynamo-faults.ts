/**
 * Faults injected into the functions' DynamoDB clients as SDK middleware, so the code under test
 * runs unchanged: throttles answered inside the SDK's retry loop (some outlasting every retry), an
 * ingest invocation that dies after k of its window writes, and a closer that dies after recording
 * a window's alerts but before taking the window out of the due index.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isDuePagePk, windowPk } from '../../lib/store/tables.ts';
import type { Chaos } from './chaos.ts';

type Input = Record<string, any>;

/** Removes a middleware added by an earlier runtime in this process, then adds it again. */
function install(client: DynamoDBClient, name: string, step: 'initialize' | 'finalizeRequest', mw: (input: Input, command: string, next: () => Promise<unknown>) => Promise<unknown>): void {
  client.middlewareStack.remove(name);
  const handler = (next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: any) => mw(args.input as Input, context.commandName ?? '', () => next(args));
  // Throttles go inside the SDK's retry loop (each attempt); crashes outside it (never retried).
  if (step === 'finalizeRequest') client.middlewareStack.add(handler as any, { step, priority: 'low', name });
  else client.middlewareStack.add(handler as any, { step, name });
}

function throttled(): Error {
  return Object.assign(new Error('chaos: rate of requests exceeds the allowed throughput'), {
    name: 'ProvisionedThroughputExceededException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

/** Throttles inside the retry loop: each attempt of the same request passes through here. */
function installThrottling(client: DynamoDBClient, chaos: Chaos, name: string): void {
  const storms = new WeakMap<object, boolean>();
  install(client, name, 'finalizeRequest', (input, _command, next) => {
    let storm = storms.get(input);
    if (storm === undefined && chaos.random.chance(chaos.rates.throttle)) {
      storm = chaos.random.chance(chaos.rates.throttleStorm);
      if (storm) chaos.count('throttleExhausted');
      storms.set(input, storm);
      chaos.count('throttle');
      throw throttled();
    }
    if (storm) {
      chaos.count('throttle');
      throw throttled();
    }
    return next();
  });
}

/** Faults of the ingest function's client. */
export function injectIngestFaults(client: DynamoDBClient, chaos: Chaos, tables: { windows: string }): void {
  installThrottling(client, chaos, 'chaosIngestThrottle');
  install(client, 'chaosIngestCrash', 'initialize', async (input, command, next) => {
    const isWindowWrite = command === 'UpdateItemCommand' && input.TableName === tables.windows;
    if (!isWindowWrite) return next();
    if (chaos.sabotage.nonIdempotentWrites) {
      // Every "mark below" guard passes: a redelivered aggregate is applied again.
      for (const name of Object.keys(input.ExpressionAttributeValues ?? {})) {
        if (/^:b\d+$/.test(name)) input.ExpressionAttributeValues[name] = { N: String(Number.MAX_SAFE_INTEGER) };
      }
    }
    const plan = chaos.currentInvocation();
    // A due page (an UpdateItem of the windows table too): every window write of the batch is done.
    if (plan?.crashBeforePages && !plan.crashed && isDuePagePk(String(input.Key?.pk?.S))) {
      plan.crashed = true;
      chaos.count('handlerCrashBeforePages');
      throw new Error('chaos: the function crashed after its window writes, before its due pages');
    }
    if (plan?.crashAfterWrites !== undefined && plan.writes >= plan.crashAfterWrites) {
      if (!plan.crashed) chaos.count('handlerCrash');
      plan.crashed = true;
      throw new Error(`chaos: the function crashed after ${plan.writes} window writes`);
    }
    const out = await next();
    if (plan) plan.writes++;
    return out;
  });
}

/** Faults of the closer's client. */
export function injectCloserFaults(client: DynamoDBClient, chaos: Chaos, tables: { windows: string; alerts: string }): void {
  installThrottling(client, chaos, 'chaosCloserThrottle');
  /** Windows whose alert record a closer has put, so whose window it finishes next. */
  const alerted = new Map<string, number>();
  install(client, 'chaosCloserCrash', 'initialize', async (input, command, next) => {
    // The closer records an alert with one UpdateItem that sets each attribute if absent.
    if (command === 'UpdateItemCommand' && input.TableName === tables.alerts && String(input.Key?.pk?.S).startsWith('alert#')) {
      const set = (name: string) => {
        const ph = Object.entries(input.ExpressionAttributeNames ?? {}).find(([, n]) => n === name)?.[0];
        return ph === undefined ? undefined : input.ExpressionAttributeValues?.[`:${ph.slice(1)}`];
      };
      const id = `${windowPk(set('pipeline')?.S, set('windowKey')?.S)}|${set('windowStart')?.N}`;
      if (!alerted.has(id)) alerted.set(id, 0);
      return next();
    }
    // The long way's finish (a window that alerted): out of the due index, conditional on being closed.
    const isFinish =
      command === 'UpdateItemCommand' && input.TableName === tables.windows && String(input.UpdateExpression).endsWith('REMOVE #ds') && input.ConditionExpression === 'attribute_exists(#closed)';
    if (isFinish) {
      const id = `${input.Key.pk.S}|${input.Key.sk.N}`;
      const crashes = alerted.get(id);
      // At most once per window: a crash ends the whole run, and every window must finish in the end.
      if (crashes !== undefined && crashes < 1 && !chaos.calm && chaos.random.chance(chaos.rates.closerCrash)) {
        alerted.set(id, crashes + 1);
        chaos.count('closerCrash');
        throw new Error('chaos: the closer crashed after recording alerts, before finishing the window');
      }
    }
    return next();
  });
}
