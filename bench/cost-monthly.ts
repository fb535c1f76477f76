/**
 * The monthly side of section `cost`: what streamguard costs a month at a sustained rate, with
 * on-demand or provisioned tables, with the event source mappings' provisioned mode when the stack
 * turns it on, and the alert dispatcher; next to Amazon Managed Service for Apache Flink running
 * the same job. MSK is needed by both and left out of both. Pure arithmetic, unit-tested.
 */
import { PRICES, type Prices } from './cost.ts';

/**
 * us-east-1 prices beside PRICES, checked 2026-12-01 against stored copies of the pricing pages and
 * documentation found with the search tool (the live pages were not reached):
 * - DynamoDB provisioned capacity, standard table class: $0.00065 per WCU-hour, $0.00013 per
 *   RCU-hour (the figures quoted for us-east-1 wherever the page is copied; the stored copies of
 *   the page itself render its prices client-side, so they are not confirmed from AWS's own text);
 * - Lambda, provisioned mode for Kafka event source mappings: $0.185 per event poller unit (EPU)
 *   hour, an EPU holding up to 10 event pollers (Lambda pricing page, pricing examples 1 and 3);
 * - DynamoDB Streams: GetRecords calls made by Lambda triggers are not charged (DynamoDB pricing);
 * - Managed Service for Apache Flink: $0.11 per KPU-hour, one more KPU per application for
 *   orchestration, 50 GB of running application storage per KPU at $0.10 per GB-month
 *   (Managed Flink developer guide, "Per second billing"; pricing as quoted by AWS training copies).
 */
export const MONTHLY_PRICES = {
  checked: '2026-12-01',
  dynamoPerWcuHour: 0.00065,
  dynamoPerRcuHour: 0.00013,
  esmPerEpuHour: 0.185,
  pollersPerEpu: 10,
  flinkPerKpuHour: 0.11,
  flinkStorageGbPerKpu: 50,
  flinkStoragePerGbMonth: 0.1,
} as const;

export type MonthlyPrices = Omit<typeof MONTHLY_PRICES, 'checked'>;

/** 30 days, as eventsPerMonth counts them. */
export const HOURS_PER_MONTH = 720;

/** What the monthly model assumes and cannot measure here. */
export interface MonthlyAssumptions {
  /** Provisioned tables are sized so that the mean load uses this share (Application Auto Scaling's usual target). */
  provisionedUtilization: number;
  /** Tables and indexes that each keep at least 1 WCU and 1 RCU when provisioned (the stack's four tables and the due index). */
  provisionedFloorTables: number;
  /** Event pollers the mappings keep when provisioned mode is on (minimumPollers, summed over mappings in one poller group). */
  provisionedPollers: number;
  /** Events one Flink KPU keeps up with for this job (windowed counts by key): assumed, not measured here. */
  flinkEventsPerSecPerKpu: number;
  /** Dispatcher invocations: one per alert (alerts are rare; the stream's batching rarely has two to send at once). */
  dispatcherMemoryMB: number;
  dispatcherMsPerInvocation: number;
}

export const DEFAULT_MONTHLY_ASSUMPTIONS: MonthlyAssumptions = {
  provisionedUtilization: 0.7,
  provisionedFloorTables: 5,
  provisionedPollers: 3,
  flinkEventsPerSecPerKpu: 10_000,
  dispatcherMemoryMB: 256,
  dispatcherMsPerInvocation: 50,
};

/** streamguard's usage at one sustained rate, per event and per window, from the measured sections. */
export interface UsageAtRate {
  eventsPerSec: number;
  /** Ingest Lambda dollars per event (compute and requests, at the batches this rate makes). */
  ingestLambdaPerEvent: number;
  writeUnitsPerEvent: number;
  readUnitsPerEvent: number;
  windowsPerEvent: number;
  closerWriteUnitsPerWindow: number;
  closerReadUnitsPerWindow: number;
  /** Closer Lambda dollars per window, and its fixed schedule a month. */
  closerLambdaPerWindow: number;
  closerScheduleMonthly: number;
  alertsPerWindow: number;
}

export interface MonthlyCost {
  eventsPerSec: number;
  onDemand: number;
  provisionedTables: number;
  /** What provisioned mode on the mappings adds, whichever table mode. */
  provisionedPollers: number;
  managedFlink: number;
  flinkKpus: number;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The alert dispatcher a month: one short invocation per alert; the stream reads it makes are free. */
export function dispatcherMonthly(alertsPerMonth: number, a: MonthlyAssumptions = DEFAULT_MONTHLY_ASSUMPTIONS, p: Prices = PRICES): number {
  return (alertsPerMonth / 1e6) * p.lambdaPerMillionRequests + alertsPerMonth * (a.dispatcherMsPerInvocation / 1000) * (a.dispatcherMemoryMB / 1024) * p.lambdaArmPerGbSecond;
}

/** Provisioned capacity for a mean load, at the utilisation target, never under the per-table floor. */
export function provisionedCapacityMonthly(wcuPerSec: number, rcuPerSec: number, a: MonthlyAssumptions = DEFAULT_MONTHLY_ASSUMPTIONS, m: MonthlyPrices = MONTHLY_PRICES): number {
  const wcu = Math.max(a.provisionedFloorTables, Math.ceil(wcuPerSec / a.provisionedUtilization));
  const rcu = Math.max(a.provisionedFloorTables, Math.ceil(rcuPerSec / a.provisionedUtilization));
  return (wcu * m.dynamoPerWcuHour + rcu * m.dynamoPerRcuHour) * HOURS_PER_MONTH;
}

/** Provisioned mode on the mappings: whole event poller units for the pollers kept, all month. */
export function pollersMonthly(pollers: number, m: MonthlyPrices = MONTHLY_PRICES): number {
  return Math.ceil(pollers / m.pollersPerEpu) * m.esmPerEpuHour * HOURS_PER_MONTH;
}

/** Managed Flink: the KPUs the rate needs (at least one) plus the orchestration KPU, and their running storage. */
export function managedFlinkMonthly(eventsPerSec: number, a: MonthlyAssumptions = DEFAULT_MONTHLY_ASSUMPTIONS, m: MonthlyPrices = MONTHLY_PRICES): { kpus: number; monthly: number } {
  const kpus = Math.max(1, Math.ceil(eventsPerSec / a.flinkEventsPerSecPerKpu));
  const monthly = (kpus + 1) * m.flinkPerKpuHour * HOURS_PER_MONTH + kpus * m.flinkStorageGbPerKpu * m.flinkStoragePerGbMonth;
  return { kpus, monthly };
}

/** One point of the monthly curve. */
export function monthlyCost(u: UsageAtRate, a: MonthlyAssumptions = DEFAULT_MONTHLY_ASSUMPTIONS, p: Prices = PRICES, m: MonthlyPrices = MONTHLY_PRICES): MonthlyCost {
  const events = u.eventsPerSec * HOURS_PER_MONTH * 3600;
  const windows = events * u.windowsPerEvent;
  const lambda = events * u.ingestLambdaPerEvent + windows * u.closerLambdaPerWindow + u.closerScheduleMonthly + dispatcherMonthly(windows * u.alertsPerWindow, a, p);
  const writeUnits = events * u.writeUnitsPerEvent + windows * u.closerWriteUnitsPerWindow;
  const readUnits = events * u.readUnitsPerEvent + windows * u.closerReadUnitsPerWindow;
  const onDemandTables = (writeUnits / 1e6) * p.dynamoPerMillionWriteUnits + (readUnits / 1e6) * p.dynamoPerMillionReadUnits;
  const seconds = HOURS_PER_MONTH * 3600;
  const provisioned = provisionedCapacityMonthly(writeUnits / seconds, readUnits / seconds, a, m);
  const flink = managedFlinkMonthly(u.eventsPerSec, a, m);
  return {
    eventsPerSec: u.eventsPerSec,
    onDemand: round2(lambda + onDemandTables),
    provisionedTables: round2(lambda + provisioned),
    provisionedPollers: round2(pollersMonthly(a.provisionedPollers, m)),
    managedFlink: round2(flink.monthly),
    flinkKpus: flink.kpus,
  };
}

/**
 * Where a streamguard curve meets Managed Flink's, between two measured rates: the rate at which
 * their difference changes sign, interpolated on log(rate); undefined when it never does.
 */
export function crossover(curve: MonthlyCost[], cost: (c: MonthlyCost) => number): number | undefined {
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1]!;
    const b = curve[i]!;
    const da = cost(a) - a.managedFlink;
    const db = cost(b) - b.managedFlink;
    if (da === 0) return a.eventsPerSec;
    if (da < 0 !== db < 0) {
      const t = da / (da - db);
      return Math.round(10 ** (Math.log10(a.eventsPerSec) + t * (Math.log10(b.eventsPerSec) - Math.log10(a.eventsPerSec))));
    }
  }
  return undefined;
}
