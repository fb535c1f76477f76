/**
 * From the event log to valid, normalised events: which records the engine would quarantine and
 * what it reads from the others (lib/ingest/plan.ts, lib/schemas/events.ts), in SQL.
 *
 * Every statement creates one temp table; each table is a stage a reader can query when a result
 * looks wrong. Session variables (set by reference.ts):
 *   event_log_path       the events.jsonl to read
 *   max_record_bytes     values larger than this are quarantined unread (65,536)
 *   max_event_ahead_ms   how far an event time may be ahead of its record's Kafka timestamp (300,000)
 */

import { dateParseStatement } from './js-semantics.ts';

const sql = String.raw;

export const recordStatements: readonly string[] = [
  sql`
-- 1. The log, one row per record. Only the Kafka coordinates, the record timestamp and the value are
--    read: hint fields the generator adds (eventTime, malformed, late, scenario) are not looked at,
--    and a hand-written log has none. value is the record's value exactly as produced; NULL is a
--    tombstone. timestamp is the Kafka record timestamp it was produced with (NULL: not recorded,
--    so not bounded).
CREATE TEMP TABLE log_records AS
SELECT row_number() OVER () AS rid, topic, "partition", "offset", "timestamp", value
FROM read_json(getvariable('event_log_path'),
  format = 'newline_delimited',
  columns = {topic: 'VARCHAR', "partition": 'BIGINT', "offset": 'BIGINT', "timestamp": 'BIGINT', value: 'VARCHAR'},
  maximum_object_size = 67108864)`,

  sql`
-- 2. The topic each event family is read from (lib/pipelines/builtin.ts). No pipeline reads any
--    other topic, so the engine quarantines its records.
CREATE TEMP TABLE topic_families AS
SELECT * FROM (VALUES
  ('user_events', 'user_event'),
  ('user_registrations', 'registration'),
  ('iot_telemetry', 'telemetry')
) AS t(topic, family)`,

  sql`
-- 3. The fields each family's schema knows, and the rule each is checked by (lib/schemas/events.ts,
--    fields.ts). Present known fields must pass their rule; other fields are ignored whatever they
--    hold. Which fields are required (some as either of two spellings) is decided in step 10.
CREATE TEMP TABLE schema_fields AS
SELECT * FROM (VALUES
  ('user_event', 'user_id', 'id'),
  ('user_event', 'action', 'text'),
  ('user_event', 'event_type', 'text'),
  ('user_event', 'amount', 'decimal'),
  ('user_event', 'ip_address', 'text'),
  ('user_event', 'ip', 'text'),
  ('user_event', 'device_id', 'id'),
  ('user_event', 'location_city', 'text'),
  ('user_event', 'city', 'text'),
  ('user_event', 'timestamp', 'time'),
  ('user_event', 'event_time', 'time'),
  ('registration', 'user_id', 'id'),
  ('registration', 'ip', 'text'),
  ('registration', 'ip_address', 'text'),
  ('registration', 'device_id', 'id'),
  ('registration', 'timestamp', 'time'),
  ('registration', 'event_time', 'time'),
  ('telemetry', 'device_id', 'id'),
  ('telemetry', 'temperature', 'decimal'),
  ('telemetry', 'humidity', 'decimal'),
  ('telemetry', 'timestamp', 'time'),
  ('telemetry', 'event_time', 'time')
) AS t(family, name, rule)`,

  sql`
-- 4. Records the engine gets as far as reading, whose value JSON.parse turns into an object. The
--    others are quarantined: unknown topic, tombstone, more than max_record_bytes (counted in UTF-8
--    bytes, as on the wire), invalid JSON, or JSON that is not an object (array, string, null...).
--    One leading UTF-8 byte-order mark (U+FEFF) is stripped before parsing, as ingest does.
CREATE TEMP TABLE object_records AS
WITH readable AS (
  SELECT l.rid, f.family,
    CASE WHEN starts_with(l.value, chr(65279)) THEN substr(l.value, 2) ELSE l.value END AS value
  FROM log_records l
  JOIN topic_families f USING (topic)
  WHERE l.value IS NOT NULL
    AND strlen(l.value) <= getvariable('max_record_bytes')
),
parsed AS (
  SELECT *, json_valid(value) AS duckdb_accepts, json_skeleton(value) AS skeleton
  FROM readable
)
SELECT rid, family, value
FROM parsed
-- json_type fails on text that is not JSON: the CASE only asks it about accepted documents.
WHERE CASE WHEN duckdb_accepts AND js_accepts_skeleton(skeleton) THEN json_type(value) = 'OBJECT' ELSE false END`,

  sql`
-- 5. The known top-level fields of each object, as JavaScript values. A key given twice counts
--    once, with its LAST value, as with JSON.parse.
CREATE TEMP TABLE members AS
SELECT r.rid, r.family, m.key AS name, s.rule, m.type AS jtype,
  js_number(m.type, m.value) AS num,
  js_string(m.type, m.value) AS str
FROM object_records r
CROSS JOIN json_each(r.value) m
JOIN schema_fields s ON s.family = r.family AND s.name = m.key
QUALIFY row_number() OVER (PARTITION BY r.rid, m.key ORDER BY m.id DESC) = 1`,

  sql`
-- 6. The strings given as event times, for Date.parse (step 7, in ./js-semantics.ts).
CREATE TEMP TABLE time_strings AS
SELECT DISTINCT str AS s FROM members WHERE rule = 'time' AND str IS NOT NULL`,

  dateParseStatement,

  sql`
-- 8. Each known field checked and normalised by its rule. ok: the field passes its rule (for event
--    times: its shape; whether the one that is read parses is checked in step 10).
CREATE TEMP TABLE known_fields AS
WITH normalised AS (
  SELECT m.rid, m.name, m.rule, m.num, m.str,
    CASE m.rule WHEN 'id' THEN id_of(m.num, m.str) WHEN 'text' THEN text_of(m.str) END AS text_value,
    CASE m.rule WHEN 'decimal' THEN decimal_of(m.num, m.str) WHEN 'time' THEN event_time_of(m.num, m.str, d.ms) END AS number_value
  FROM members m
  -- Only event times use d.ms; date_parse has one row per distinct string.
  LEFT JOIN date_parse d ON d.s = m.str
)
SELECT rid, name, text_value, number_value,
  CASE rule
    WHEN 'time' THEN time_shape_ok(num, str)
    ELSE text_value IS NOT NULL OR number_value IS NOT NULL
  END AS ok
FROM normalised`,

  sql`
-- 9. One row per object record, its known fields side by side (NULL: absent, or invalid with
--    known_fields_valid false).
CREATE TEMP TABLE record_fields AS
SELECT r.rid, r.family,
  coalesce(bool_and(f.ok), true) AS known_fields_valid,
  any_value(f.text_value) FILTER (WHERE f.name = 'user_id') AS user_id,
  any_value(f.text_value) FILTER (WHERE f.name = 'action') AS action,
  any_value(f.text_value) FILTER (WHERE f.name = 'event_type') AS event_type,
  any_value(f.number_value) FILTER (WHERE f.name = 'amount') AS amount,
  any_value(f.text_value) FILTER (WHERE f.name = 'ip') AS ip,
  any_value(f.text_value) FILTER (WHERE f.name = 'ip_address') AS ip_address,
  any_value(f.text_value) FILTER (WHERE f.name = 'device_id') AS device_id,
  any_value(f.text_value) FILTER (WHERE f.name = 'location_city') AS location_city,
  any_value(f.text_value) FILTER (WHERE f.name = 'city') AS city,
  any_value(f.number_value) FILTER (WHERE f.name = 'temperature') AS temperature,
  any_value(f.number_value) FILTER (WHERE f.name = 'humidity') AS humidity,
  coalesce(bool_or(f.name = 'timestamp'), false) AS has_timestamp,
  any_value(f.number_value) FILTER (WHERE f.name = 'timestamp') AS timestamp_ms,
  any_value(f.number_value) FILTER (WHERE f.name = 'event_time') AS event_time_ms
FROM object_records r
LEFT JOIN known_fields f USING (rid)
GROUP BY r.rid, r.family`,

  sql`
-- 10. Valid events, normalised as the families' normalisers do; every other record is quarantined.
--    So is an event whose time is more than max_event_ahead_ms ahead of its record's Kafka
--    timestamp (when it has one): ingest does not trust it (lib/ingest/plan.ts).
--    Where two spellings are both present, both must pass their rule and one wins:
--      action over event_type; location_city over city; for registrations ip over ip_address
--      (user events prefer ip_address, but no pipeline reads their ip); timestamp over event_time,
--      even when the timestamp does not parse (the record is then quarantined).
CREATE TEMP TABLE valid_events AS
WITH normalised AS (
  SELECT rid, family, known_fields_valid,
    user_id,
    coalesce(action, event_type) AS action,
    amount,
    CASE family WHEN 'registration' THEN coalesce(ip, ip_address) ELSE coalesce(ip_address, ip) END AS ip,
    device_id,
    coalesce(location_city, city) AS city,
    temperature,
    humidity,
    CASE WHEN has_timestamp THEN timestamp_ms ELSE event_time_ms END AS event_time
  FROM record_fields
)
SELECT l.topic, l."partition", l."offset", n.*
FROM normalised n
JOIN log_records l USING (rid)
WHERE n.known_fields_valid
  AND n.event_time IS NOT NULL -- missing under both spellings, unparseable, epoch seconds, past year 9999
  AND (l."timestamp" IS NULL OR l."timestamp" < 0 OR n.event_time <= l."timestamp" + getvariable('max_event_ahead_ms'))
  AND CASE n.family
    WHEN 'user_event' THEN n.user_id IS NOT NULL AND n.action IS NOT NULL
    WHEN 'registration' THEN n.user_id IS NOT NULL AND n.ip IS NOT NULL
    WHEN 'telemetry' THEN n.device_id IS NOT NULL AND n.temperature IS NOT NULL AND n.humidity IS NOT NULL
  END`,
];
