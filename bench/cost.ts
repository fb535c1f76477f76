/**
 * Section `cost`: projected AWS cost per million events, from the figures sections `ingest` and
 * `writes` measured (CPU events/s, write and read units per event, the closer's units per window),
 * at published us-east-1 prices. The model is pure arithmetic (unit-tested); its assumptions are
 * named and printed with the result.
 */
import type { CostRates } from './cost-rates.ts';

/**
 * us-east-1 prices as published, checked 2026-11-23 (against copies of the AWS pricing pages found
 * with the search tool, not the live pages):
 * - Lambda, Arm (Graviton): $0.0000133334 per GB-second (first 7.5 billion GB-s a month), $0.20 per
 *   million requests;
 * - DynamoDB on-demand (standard table class), since the 1 November 2024 price cut: $0.625 per
 *   million write request units, $0.125 per million read request units.
 * Free tiers are not applied.
 */
export const PRICES = {
  checked: '2026-11-23',
  region: 'us-east-1',
  source: 'AWS Lambda and Amazon DynamoDB pricing pages (prices as published, checked 2026-11-23)',
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  dynamoPerMillionWriteUnits: 0.625,
  dynamoPerMillionReadUnits: 0.125,
} as const;

export type Prices = Omit<typeof PRICES, 'checked' | 'region' | 'source'>;

/** What the model cannot measure here, stated. */
export interface CostAssumptions {
  /** Ingest function memory (infra/config.ts default) and the closer's. */
  ingestMemoryMB: number;
  closerMemoryMB: number;
  /** Records per invocation: the mappings' batch size, batches assumed full. */
  batchSize: number;
  /** Writes in flight per batch (WRITE_CONCURRENCY) and windows in flight in the closer (CLOSER_CONCURRENCY). */
  writeConcurrency: number;
  closerConcurrency: number;
  /** Round trip of one DynamoDB request from Lambda in the same region: assumed, not measured. */
  dynamoLatencyMs: number;
  /** Lambda gives one full vCPU at 1,769 MB and a proportional share below; one vCPU is taken as one core of this machine. */
  fullVcpuMemoryMB: number;
  /** The closer's session (infra/config.ts closer.sessionSeconds, pollSeconds): billed whatever the traffic. */
  closerSessionSeconds: number;
  closerPollSeconds: number;
  /** Pipelines whose marks each pass reads (one Query) and whose watermark it saves (one conditional write). */
  closerPipelines: number;
}

export const DEFAULT_ASSUMPTIONS: CostAssumptions = {
  ingestMemoryMB: 1024,
  closerMemoryMB: 512,
  batchSize: 500,
  writeConcurrency: 32,
  closerConcurrency: 16,
  dynamoLatencyMs: 5,
  fullVcpuMemoryMB: 1769,
  closerSessionSeconds: 50,
  closerPollSeconds: 5,
  closerPipelines: 4,
};

/** One design's measured figures, per event. */
export interface DesignInputs {
  name: string;
  /** Events/s of its CPU path on this machine (section ingest). */
  cpuEventsPerSec: number;
  /** DynamoDB requests and units per event (section writes). */
  writeRequestsPerEvent: number;
  writeUnitsPerEvent: number;
  readRequestsPerEvent: number;
  readUnitsPerEvent: number;
}

/** The closer's measured cost per window, and windows per event of the workload (section writes). */
export interface CloserInputs {
  windowsPerEvent: number;
  requestsPerWindow: number;
  writeUnitsPerWindow: number;
  readUnitsPerWindow: number;
}

export interface CostBreakdown {
  design: string;
  invocations: number;
  /** Billed ingest duration per invocation: CPU share plus DynamoDB round trips. */
  msPerInvocation: number;
  gbSeconds: number;
  lambdaCompute: number;
  lambdaRequests: number;
  dynamoWrites: number;
  dynamoReads: number;
  closerDynamo: number;
  closerLambda: number;
  total: number;
}

const round = (n: number, digits = 6) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Ingest duration of one full batch: its CPU time at the function's vCPU share, plus its writes in waves of `writeConcurrency`. */
export function invocationMs(d: Pick<DesignInputs, 'cpuEventsPerSec' | 'writeRequestsPerEvent' | 'readRequestsPerEvent'>, a: CostAssumptions): number {
  const vcpu = Math.min(1, a.ingestMemoryMB / a.fullVcpuMemoryMB);
  const cpuMs = (a.batchSize / d.cpuEventsPerSec) * 1000 / vcpu;
  const waves = Math.ceil((d.writeRequestsPerEvent * a.batchSize) / a.writeConcurrency);
  // Reads before planning (one BatchGetItem) are one more round trip when present.
  const readTrips = d.readRequestsPerEvent > 0 ? Math.max(1, Math.round(d.readRequestsPerEvent * a.batchSize)) : 0;
  return cpuMs + (waves + readTrips) * a.dynamoLatencyMs;
}

/** Cost of `events` events for one design (dollars). */
export function costOf(events: number, d: DesignInputs, closer: CloserInputs, a: CostAssumptions = DEFAULT_ASSUMPTIONS, p: Prices = PRICES): CostBreakdown {
  const invocations = Math.ceil(events / a.batchSize);
  const ms = invocationMs(d, a);
  const gbSeconds = invocations * (ms / 1000) * (a.ingestMemoryMB / 1024);
  const lambdaCompute = gbSeconds * p.lambdaArmPerGbSecond;
  const lambdaRequests = (invocations / 1e6) * p.lambdaPerMillionRequests;
  const dynamoWrites = ((events * d.writeUnitsPerEvent) / 1e6) * p.dynamoPerMillionWriteUnits;
  const dynamoReads = ((events * d.readUnitsPerEvent) / 1e6) * p.dynamoPerMillionReadUnits;
  const windows = events * closer.windowsPerEvent;
  const closerDynamo = ((windows * closer.writeUnitsPerWindow) / 1e6) * p.dynamoPerMillionWriteUnits + ((windows * closer.readUnitsPerWindow) / 1e6) * p.dynamoPerMillionReadUnits;
  // The closer's time per window is its requests' round trips, `closerConcurrency` windows at a time.
  const closerSeconds = (windows * closer.requestsPerWindow * a.dynamoLatencyMs) / a.closerConcurrency / 1000;
  const closerLambda = closerSeconds * (a.closerMemoryMB / 1024) * p.lambdaArmPerGbSecond;
  const total = lambdaCompute + lambdaRequests + dynamoWrites + dynamoReads + closerDynamo + closerLambda;
  return {
    design: d.name,
    invocations,
    msPerInvocation: round(ms, 1),
    gbSeconds: round(gbSeconds, 1),
    lambdaCompute: round(lambdaCompute),
    lambdaRequests: round(lambdaRequests),
    dynamoWrites: round(dynamoWrites),
    dynamoReads: round(dynamoReads),
    closerDynamo: round(closerDynamo),
    closerLambda: round(closerLambda),
    total: round(total),
  };
}

/**
 * The closer's fixed cost a month, whatever the traffic: one invocation a minute, each lasting its
 * session (or at least `baseMs` without one), and each pass's mark read and watermark save per
 * pipeline (lib/closer/session.ts). Its windows are priced per window apart.
 */
export function closerScheduleMonthly(a: CostAssumptions = DEFAULT_ASSUMPTIONS, p: Prices = PRICES, baseMs = 100): number {
  const invocations = 30 * 24 * 60;
  const seconds = Math.max(baseMs / 1000, a.closerSessionSeconds);
  const passes = invocations * (a.closerSessionSeconds > 0 ? Math.floor(a.closerSessionSeconds / a.closerPollSeconds) + 1 : 1);
  // A strongly consistent Query of a few marks (1 read unit) and a conditional write (1 write unit, applied or not).
  const dynamo = passes * a.closerPipelines * (p.dynamoPerMillionReadUnits + p.dynamoPerMillionWriteUnits) / 1e6;
  return round((invocations / 1e6) * p.lambdaPerMillionRequests + invocations * seconds * (a.closerMemoryMB / 1024) * p.lambdaArmPerGbSecond + dynamo);
}

/** Events a month at a sustained rate (30 days). */
export function eventsPerMonth(eventsPerSec: number): number {
  return eventsPerSec * 30 * 24 * 3600;
}

export interface CostSection {
  prices: typeof PRICES;
  assumptions: CostAssumptions;
  workload: string;
  perMillionEvents: CostBreakdown[];
  closerScheduleMonthly: number;
  monthly: { eventsPerSec: number; eventsPerMonth: number; byDesign: { design: string; total: number }[] };
  inputs: { designs: DesignInputs[]; closer: CloserInputs };
  /** How windowsPerEvent was found: the workload at the projected rate. */
  windowsAtRate: { events: number; windows: number; perEvent: number };
  /** The batching knob and the monthly curve against Managed Flink (bench/cost-rates.ts). */
  rates?: CostRates;
}

export function benchCost(
  designs: DesignInputs[],
  closer: CloserInputs,
  windowsAtRate: CostSection['windowsAtRate'],
  workload: string,
  rate: number,
  a: CostAssumptions = DEFAULT_ASSUMPTIONS,
): CostSection {
  const perMillionEvents = designs.map((d) => costOf(1e6, d, closer, a));
  const month = eventsPerMonth(rate);
  return {
    prices: PRICES,
    assumptions: a,
    workload,
    perMillionEvents,
    closerScheduleMonthly: closerScheduleMonthly(a),
    monthly: {
      eventsPerSec: rate,
      eventsPerMonth: month,
      byDesign: perMillionEvents.map((c) => ({ design: c.design, total: Math.round((c.total * month) / 1e6 + closerScheduleMonthly(a)) })),
    },
    inputs: { designs, closer },
    windowsAtRate,
  };
}
