/**
 * From valid events to windows, late events and alerts: the built-in pipelines
 * (lib/pipelines/builtin.ts), the late-data rule, and the DEFAULT rules (lib/rules/defaults.ts),
 * in SQL. Runs after ./records.ts. Session variable (set by reference.ts):
 *   watermark_delay_ms   the watermark delay (600,000 by default)
 *
 * Hopping pipelines (registrations: 10 min every minute) are modelled twice over, on purpose: their
 * stored units (one-minute buckets, judged late as a whole) in `windows`, compared with the
 * system's bucket items; and their windows in `hopping_windows`, computed from the events (each
 * expanded to the windows that hold it), not by adding buckets, which the alerts are judged on.
 */
import { RULE_COOLDOWNS, PIPELINE_WINDOWS } from '../windowing.ts';

const sql = String.raw;

const values = (rows: readonly (readonly (string | number)[])[]): string =>
  rows.map((r) => `(${r.map((v) => (typeof v === 'number' ? String(v) : `'${v.replaceAll("'", "''")}'`)).join(', ')})`).join(',\n  ');

/**
 * The starts of the hopping windows of size_ms every advance_ms that hold t: every multiple s of the
 * advance with t - size < s <= t, ascending (size / advance of them). Derived from the window's
 * definition, not from the bucket holding t; right before the epoch too (floor, not truncation).
 */
export const hoppingWindowStartsMacro = sql`
CREATE MACRO hopping_window_starts(t, size_ms, advance_ms) AS
  list_transform(range(0, CAST(size_ms // advance_ms AS BIGINT)),
    k -> floor((t - size_ms) / advance_ms) * advance_ms + advance_ms + k * advance_ms)`;

export const windowStatements: readonly string[] = [
  sql`
-- 10b. How each pipeline windows (../windowing.ts): size and advance; advance = size is tumbling,
--     and then the stored unit is the window; otherwise the stored unit is a bucket of one advance.
CREATE TEMP TABLE pipeline_windowing AS
SELECT * FROM (VALUES
  ${values(Object.entries(PIPELINE_WINDOWS).map(([p, w]) => [p, w.sizeMs, w.advanceMs]))}
) AS t(pipeline, window_ms, advance_ms)`,

  sql`
-- 10c. Each alerting default rule's cooldown (../windowing.ts): its alerts are one per
--     (pipeline, key, rule, floor(window start / cooldown) * cooldown).
CREATE TEMP TABLE rule_cooldowns AS
SELECT * FROM (VALUES
  ${values(Object.entries(RULE_COOLDOWNS).map(([r, c]) => [r, c]))}
) AS t(rule_id, cooldown_ms)`,

  sql`
-- Start of the epoch-aligned tumbling window of size_ms holding t, as the engine writes it
-- (t - ((t % size + size) % size): also right for times before the epoch). Times are doubles, as
-- in JavaScript, so the arithmetic is the same even for absurd (but accepted) times like 1e20.
CREATE MACRO window_start_of(t, size_ms) AS t - (((t % size_ms) + size_ms) % size_ms)`,

  hoppingWindowStartsMacro,

  sql`
-- A value as a distinct feature counts it: itself, or "sha256:<hex>" when over 128 UTF-8 bytes
-- (strlen counts bytes), as the engine keeps long values by digest so an exact set stays bounded.
CREATE MACRO distinct_value(v) AS CASE WHEN strlen(v) > 128 THEN 'sha256:' || sha256(v) ELSE v END`,

  sql`
-- 11. Each valid event with the greatest event time of the EARLIER valid records of its
--    topic-partition (its partition's watermark plus the delay, when it is read: see below).
--
--    Late rule: a topic-partition is read in offset order, and its watermark when a record is read
--    is the greatest event time of the EARLIER valid records of that topic-partition, minus the
--    delay. An event is late for a pipeline when that pipeline's stored unit for it (its window, or
--    a hopping pipeline's bucket) ends at or before the watermark; the first valid record of a
--    partition has no watermark and is never late. Quarantined records do not move the watermark.
CREATE TEMP TABLE read_in_partition_order AS
SELECT *,
  max(event_time) OVER (
    PARTITION BY topic, "partition" ORDER BY "offset"
    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
  ) AS greatest_earlier_event_time
FROM valid_events`,

  sql`
-- 11b. Every (event, pipeline) pair the pipeline applies, with its stored unit (window_start,
--    window_end: the tumbling window, or the hopping pipeline's bucket) and whether it is late by
--    the rule above (read_in_partition_order is also what the sequence rules judge lateness by,
--    ./sequences.ts).
--
--    Routing (lib/pipelines/builtin.ts):
--      payments       user events with action 'payment', by user id, 5 min
--      risk           all user events, by user id, 1 h
--      registrations  all registrations, by ip, 10 min every minute (stored in 1-minute buckets)
--      iot            all telemetry, by device id, 1 min; readings outside temperature [-40, 100]
--                     or humidity [0, 100] are not kept but still applied, as 'rejected'
--
--    Each pipeline judges lateness with its own stored unit, so an event can be late for payments
--    (5 min) and on time for risk (1 h). For a hopping pipeline that is all or nothing: an event
--    whose bucket has ended is applied to none of its windows, even those still open; any other
--    to all of them.
CREATE TEMP TABLE pipeline_events AS
WITH routed AS (
  SELECT 'payments' AS pipeline, user_id AS key, true AS kept, *
  FROM read_in_partition_order WHERE family = 'user_event' AND action = 'payment'
  UNION ALL
  SELECT 'risk', user_id, true, *
  FROM read_in_partition_order WHERE family = 'user_event'
  UNION ALL
  SELECT 'registrations', ip, true, *
  FROM read_in_partition_order WHERE family = 'registration'
  UNION ALL
  SELECT 'iot', device_id,
    temperature BETWEEN -40 AND 100 AND humidity BETWEEN 0 AND 100, *
  FROM read_in_partition_order WHERE family = 'telemetry'
),
windowed AS (
  -- unit_ms: the stored unit, the window for a tumbling pipeline, the advance for a hopping one.
  SELECT r.*, p.window_ms, p.advance_ms, p.advance_ms AS unit_ms, window_start_of(r.event_time, p.advance_ms) AS window_start
  FROM routed r JOIN pipeline_windowing p USING (pipeline)
  -- plan.ts quarantines an event for a pipeline that finds no key in it (undefined or ''); the
  -- built-in schemas require every key field non-empty, so this never filters anything out.
  WHERE key IS NOT NULL AND key <> ''
)
SELECT *,
  window_start + unit_ms AS window_end,
  coalesce(window_start + unit_ms <= greatest_earlier_event_time - getvariable('watermark_delay_ms'), false) AS late
FROM windowed`,

  sql`
-- 12. Stored units: one per (pipeline, key, window or bucket) that at least one on-time event
--    (kept or rejected) reached, with exactly the features its pipeline declares. Late events touch
--    no window. A hopping pipeline's bucket has the features of the events in it, as the system's
--    bucket item holds them.
--    Sums are exact decimal sums of the six-place values (DECIMAL(38, 6)), read as doubles: the
--    engine promises totals that do not depend on how batches were cut. Distinct features are
--    lists here; reference.ts sorts them, and turns a list longer than its feature's cap into the
--    estimate it expects (./distinct-caps.ts).
CREATE TEMP TABLE windows AS
WITH on_time AS (
  SELECT * FROM pipeline_events WHERE NOT late
),
payments AS (
  SELECT pipeline, key, window_start, window_end,
    count(*) AS "count",
    coalesce(CAST(sum(CAST(amount AS DECIMAL(38, 6))) AS DOUBLE), 0) AS amount -- a sum over no amounts reads as 0
  FROM on_time WHERE pipeline = 'payments'
  GROUP BY pipeline, key, window_start, window_end
),
risk AS (
  SELECT pipeline, key, window_start, window_end,
    count(*) AS events,
    coalesce(list(DISTINCT distinct_value(device_id)) FILTER (WHERE device_id IS NOT NULL), []) AS devices,
    coalesce(list(DISTINCT distinct_value(city)) FILTER (WHERE city IS NOT NULL), []) AS cities,
    count(*) FILTER (WHERE action = 'login') AS logins
  FROM on_time WHERE pipeline = 'risk'
  GROUP BY pipeline, key, window_start, window_end
),
registrations AS (
  SELECT pipeline, key, window_start, window_end,
    count(*) AS registrations,
    list(DISTINCT distinct_value(user_id)) AS users
  FROM on_time WHERE pipeline = 'registrations'
  GROUP BY pipeline, key, window_start, window_end
),
iot AS (
  SELECT pipeline, key, window_start, window_end,
    count(*) FILTER (WHERE kept) AS "count",
    min(temperature) FILTER (WHERE kept) AS "temperatureMin",
    max(temperature) FILTER (WHERE kept) AS "temperatureMax",
    CAST(sum(CAST(temperature AS DECIMAL(38, 6))) FILTER (WHERE kept) AS DOUBLE) / nullif(count(*) FILTER (WHERE kept), 0) AS "temperatureAvg",
    min(humidity) FILTER (WHERE kept) AS "humidityMin",
    max(humidity) FILTER (WHERE kept) AS "humidityMax",
    CAST(sum(CAST(humidity AS DECIMAL(38, 6))) FILTER (WHERE kept) AS DOUBLE) / nullif(count(*) FILTER (WHERE kept), 0) AS "humidityAvg",
    count(*) FILTER (WHERE NOT kept) AS rejected
  FROM on_time WHERE pipeline = 'iot'
  GROUP BY pipeline, key, window_start, window_end
)
SELECT * FROM payments
UNION ALL BY NAME SELECT * FROM risk
UNION ALL BY NAME SELECT * FROM registrations
UNION ALL BY NAME SELECT * FROM iot`,

  sql`
-- 12b. The windows of hopping pipelines: [s, s + size) for every s a multiple of the advance,
--     holding at least one on-time event. Each on-time event is expanded to the size / advance
--     windows that hold it (hopping_window_starts: the starts s with t - size < s <= t, from the
--     first multiple of the advance above t - size, one advance apart). Features are computed from the events of each
--     window, not from the buckets, so a bucket-merging mistake in the engine cannot hide here.
CREATE TEMP TABLE hopping_windows AS
WITH on_time AS (
  SELECT * FROM pipeline_events WHERE NOT late AND advance_ms <> window_ms
),
expanded AS (
  SELECT *, unnest(hopping_window_starts(event_time, window_ms, advance_ms)) AS hop_start FROM on_time
)
SELECT pipeline, key, hop_start AS window_start, hop_start + window_ms AS window_end,
  count(*) AS registrations,
  list(DISTINCT distinct_value(user_id)) AS users
FROM expanded WHERE pipeline = 'registrations'
GROUP BY pipeline, key, hop_start, window_ms`,

  sql`
-- 13. Which windows close. A verify run ends with every partition idle, and then each pipeline's
--     watermark is the greatest valid event time of its topic minus the delay (the closer's rule
--     once nothing holds it back). A window closes when its end is at or before that; later
--     windows stay open and raise nothing yet.
CREATE TEMP TABLE final_watermarks AS
WITH family_watermarks AS (
  SELECT family, max(event_time) - getvariable('watermark_delay_ms') AS watermark
  FROM valid_events GROUP BY family
),
pipeline_families AS (
  SELECT * FROM (VALUES ('payments', 'user_event'), ('risk', 'user_event'), ('registrations', 'registration'), ('iot', 'telemetry')) t(pipeline, family)
)
SELECT p.pipeline, f.watermark FROM pipeline_families p LEFT JOIN family_watermarks f USING (family)`,

  sql`
-- 13b. Which stored units the system must have closed by then. A tumbling window: when it closes.
--     A bucket: closed once every window holding it has closed (its start + the size), and
--     sealed once it ends (no on-time event can reach it any more); between the two the engine may
--     keep it open or close it, so a bucket closed before it is sealed, or open once closed, is a
--     difference.
CREATE TEMP TABLE closing AS
SELECT w.pipeline, w.key, w.window_start,
  coalesce(CASE WHEN p.advance_ms = p.window_ms THEN w.window_end ELSE w.window_start + p.window_ms END <= f.watermark, false) AS closed,
  coalesce(w.window_end <= f.watermark, false) AS sealed
FROM windows w JOIN pipeline_windowing p USING (pipeline) JOIN final_watermarks f USING (pipeline)`,

  sql`
-- 13c. Which hopping windows close: as tumbling ones, when their end is at or before the watermark.
CREATE TEMP TABLE hopping_closing AS
SELECT w.pipeline, w.key, w.window_start, coalesce(w.window_end <= f.watermark, false) AS closed
FROM hopping_windows w JOIN final_watermarks f USING (pipeline)`,

  sql`
-- 14. The alerts of the DEFAULT rules (lib/rules/defaults.ts), hard-coded: this is the oracle for
--     the rules streamguard ships with, not for rules an operator has edited. Every window is
--     evaluated, open ones too: each of the five compares a count or a distinct count with a lower
--     bound, so once it holds it holds for good, and streamguard raises it at ingest as soon as it
--     does (docs/design.md, "Early alerts"). A window still open when the run ends is judged on the
--     events it has. As lib/rules/rule.ts documents, every matching rule that emits an alert
--     raises one, with its own level; priority only decides the window's level (its verdict).
--     Distinct features compare by size.
--       risk-high                     devices > 1 AND cities > 1   (HIGH)
--       risk-medium                   logins > 5                   (MEDIUM)
--       risk-low                      true, raises no alert
--       registrations-suspicious-ip   registrations > 20   (on the 10-minute hopping windows)
--       payments-spree                count > 10
--       iot-sensor-out-of-range       rejected > 3
--     Tumbling pipelines are judged on their windows, hopping ones on their hopping windows (never
--     on a bucket). Matches are then grouped by rule cooldown: one expected alert per (pipeline,
--     key, rule, group), group = floor(window start / cooldown) * cooldown, with the starts of its
--     matching windows (the earliest is the one that records it at close). For a tumbling window
--     the group is the window, and so the alert is the window's, as before.
CREATE TEMP TABLE alerts AS
WITH alerting_windows AS (
  SELECT w.* FROM windows w JOIN pipeline_windowing p USING (pipeline) WHERE p.advance_ms = p.window_ms
  UNION ALL BY NAME
  SELECT * FROM hopping_windows
),
matches AS (
SELECT pipeline, key, window_start, 'risk-high' AS rule_id, 'HIGH' AS level, 'account_risk' AS alert_type
FROM alerting_windows WHERE pipeline = 'risk' AND len(devices) > 1 AND len(cities) > 1
UNION ALL
SELECT pipeline, key, window_start, 'risk-medium', 'MEDIUM', 'account_risk'
FROM alerting_windows WHERE pipeline = 'risk' AND logins > 5
UNION ALL
SELECT pipeline, key, window_start, 'registrations-suspicious-ip', NULL, 'suspicious_ip'
FROM alerting_windows WHERE pipeline = 'registrations' AND registrations > 20
UNION ALL
SELECT pipeline, key, window_start, 'payments-spree', NULL, 'payment_spree'
FROM alerting_windows WHERE pipeline = 'payments' AND "count" > 10
UNION ALL
SELECT pipeline, key, window_start, 'iot-sensor-out-of-range', NULL, 'sensor_out_of_range'
FROM alerting_windows WHERE pipeline = 'iot' AND rejected > 3
)
SELECT m.pipeline, m.key, m.rule_id,
  floor(m.window_start / c.cooldown_ms) * c.cooldown_ms AS group_start,
  min(m.window_start) AS window_start,
  list(m.window_start ORDER BY m.window_start) AS matching_windows,
  any_value(m.level) AS level,
  any_value(m.alert_type) AS alert_type
FROM matches m JOIN rule_cooldowns c USING (rule_id)
GROUP BY m.pipeline, m.key, m.rule_id, group_start`,
];
