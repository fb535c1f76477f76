/**
 * How the built-in distinct features count, restated for the reference (it shares no code with
 * lib/; the README's "Pipelines" section documents these numbers): each is exact up to its cap, then
 * an estimate the engine flags approximate and that must lie within the documented error bound of
 * the true count. The reference computes the true distinct count in DuckDB and models the rest here.
 */

/** Each distinct feature's cap: the default of lib/pipelines/features.ts, as builtin.ts sets none. */
export const DISTINCT_CAPS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  risk: { devices: 500, cities: 500 },
  registrations: { users: 500 },
};

/** The documented bound of an estimate past the cap: 3 standard errors of a 4,096-register HyperLogLog. */
export const APPROXIMATE_RELATIVE_ERROR = (3 * 1.04) / Math.sqrt(4096);

