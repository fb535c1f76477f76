/**
 * Section `cost`, against the rate: the batching knob at 100 and 1,000 events/s, and the monthly
 * curve from 10 to 10,000 events/s for streamguard (on-demand and provisioned tables) next to
 * Managed Flink, with the crossovers. Batches, write requests and windows per event are measured in
 * process at each rate (bench/batching.ts); capacity units per request and per window come from
 * the writes section's DynamoDB Local run; prices and the rest are bench/cost.ts and cost-monthly.ts.
 */
import { AWS_KAFKA_DEFAULT_BATCHING_WINDOW_S } from '../local/esm/config.ts';
import { measureBatching, windowsAtRate, type BatchingRow, type BatchingSetting } from './batching.ts';
import { closerScheduleMonthly, costOf, type CloserInputs, type CostAssumptions, type DesignInputs } from './cost.ts';
import { crossover, DEFAULT_MONTHLY_ASSUMPTIONS, monthlyCost, MONTHLY_PRICES, type MonthlyAssumptions, type MonthlyCost } from './cost-monthly.ts';

/** Capacity units as the writes section measured them, turned into per-request and per-window figures. */
export interface MeasuredUnits {
  /** Write units per window write request, the due index left out. */
  writeUnitsPerRequest: number;
  /** Due index units per new window (its entry is written once, on the window's first write). */
  dueUnitsPerWindow: number;
  readUnitsPerEvent: number;
  cpuEventsPerSec: number;
  closer: Omit<CloserInputs, 'windowsPerEvent'> & { alertsPerWindow: number };
}

export interface BatchingCost extends BatchingRow {
  writeUnitsPerEvent: number;
  dollarsPerMillionEvents: number;
}

export interface CostRates {
  defaultSetting: BatchingSetting;
  batching: BatchingCost[];
  curve: MonthlyCost[];
  curveRows: BatchingCost[];
  crossovers: { onDemand: number | undefined; provisionedTables: number | undefined };
  monthlyAssumptions: MonthlyAssumptions;
  monthlyPrices: typeof MONTHLY_PRICES;
}

export const BATCHING_RATES = [100, 1000];
export const BATCHING_SETTINGS: BatchingSetting[] = [
  { batchSize: 100, batchingWindowS: 0 },
  { batchSize: 500, batchingWindowS: 0 },
  // The stack's default since issue #13: the window left unset, AWS's 500 ms.
  { batchSize: 500, batchingWindowS: AWS_KAFKA_DEFAULT_BATCHING_WINDOW_S },
  { batchSize: 500, batchingWindowS: 1 },
  { batchSize: 10_000, batchingWindowS: 1 },
  { batchSize: 10_000, batchingWindowS: 5 },
  { batchSize: 10_000, batchingWindowS: 30 },
];
export const CURVE_RATES = [10, 30, 100, 300, 1000, 3000, 10_000];
/** Batches are cut from a minute of traffic at each rate (at most 60,000 events): their make-up does not change over time. */
const secondsFor = (rate: number) => Math.min(60, 60_000 / rate);

/** What one measured row costs per event: its batches' Lambda time and requests, its writes, its windows. */
function priced(row: BatchingRow, u: MeasuredUnits, a: CostAssumptions): { cost: BatchingCost; design: DesignInputs; closer: CloserInputs; assumptions: CostAssumptions } {
  const writeUnitsPerEvent = row.writeRequestsPerEvent * u.writeUnitsPerRequest + row.windowsPerEvent * u.dueUnitsPerWindow;
  const design: DesignInputs = {
    name: 'streamguard',
    cpuEventsPerSec: u.cpuEventsPerSec,
    writeRequestsPerEvent: row.writeRequestsPerEvent,
    writeUnitsPerEvent,
    readRequestsPerEvent: 0,
    readUnitsPerEvent: u.readUnitsPerEvent,
  };
  const closer: CloserInputs = { ...u.closer, windowsPerEvent: row.windowsPerEvent };
  const assumptions = { ...a, batchSize: Math.max(1, row.meanBatch) };
  const perMillion = costOf(1e6, design, closer, assumptions);
  return { cost: { ...row, writeUnitsPerEvent: +writeUnitsPerEvent.toFixed(4), dollarsPerMillionEvents: perMillion.total }, design, closer, assumptions };
}

export function benchCostRates(u: MeasuredUnits, a: CostAssumptions, defaultSetting: BatchingSetting, m: MonthlyAssumptions = DEFAULT_MONTHLY_ASSUMPTIONS): CostRates {
  const windows = new Map<number, number>();
  const windowsPerEvent = (rate: number) => {
    if (!windows.has(rate)) windows.set(rate, windowsAtRate(rate).perEvent);
    return windows.get(rate)!;
  };
  const measure = (rate: number, s: BatchingSetting): BatchingRow => ({ ...measureBatching(rate, s, 'uniform', secondsFor(rate)), windowsPerEvent: windowsPerEvent(rate) });
  const batching = BATCHING_RATES.flatMap((rate) => BATCHING_SETTINGS.map((s) => priced(measure(rate, s), u, a).cost));
  const curveRows: BatchingCost[] = [];
  const curve = CURVE_RATES.map((rate) => {
    const p = priced(measure(rate, defaultSetting), u, a);
    curveRows.push(p.cost);
    const ingest = costOf(1e6, p.design, { ...p.closer, windowsPerEvent: 0 }, p.assumptions);
    const closerOnly = costOf(1e6, { ...p.design, writeUnitsPerEvent: 0, readUnitsPerEvent: 0 }, p.closer, p.assumptions);
    const windows = 1e6 * p.closer.windowsPerEvent;
    return monthlyCost(
      {
        eventsPerSec: rate,
        ingestLambdaPerEvent: (ingest.lambdaCompute + ingest.lambdaRequests) / 1e6,
        writeUnitsPerEvent: p.design.writeUnitsPerEvent,
        readUnitsPerEvent: p.design.readUnitsPerEvent,
        windowsPerEvent: p.closer.windowsPerEvent,
        closerWriteUnitsPerWindow: p.closer.writeUnitsPerWindow,
        closerReadUnitsPerWindow: p.closer.readUnitsPerWindow,
        closerLambdaPerWindow: windows > 0 ? closerOnly.closerLambda / windows : 0,
        closerScheduleMonthly: closerScheduleMonthly(a),
        alertsPerWindow: u.closer.alertsPerWindow,
      },
      m,
    );
  });
  return {
    defaultSetting,
    batching,
    curve,
    curveRows,
    crossovers: { onDemand: crossover(curve, (c) => c.onDemand), provisionedTables: crossover(curve, (c) => c.provisionedTables) },
    monthlyAssumptions: m,
    monthlyPrices: MONTHLY_PRICES,
  };
}
