/**
 * From valid events to the matches of the DEFAULT sequence rule `new-device-payment`
 * (docs/design.md and SEQ-SEMANTICS, issue 15), in SQL. Runs after ./windows.ts, whose
 * read_in_partition_order gives each event its partition's watermark when it was read. Session
 * variable (set by reference.ts):
 *   watermark_delay_ms   the watermark delay (600,000 by default)
 *
 * Restated here, not imported (the reference shares no code with lib/):
 *   new-device-payment   key user_id on user_events, alertType account_takeover, level HIGH
 *     step login    action = 'login', device_id present, device_id NOT among the user's device ids
 *                   seen within 30 days before it, and the user has SOME device id seen within
 *                   30 days before it
 *     step payment  action = 'payment' AND amount > 500
 *     within        10 minutes (600,000 ms), inclusive, from the first step's event time
 */

const sql = String.raw;

/** 30 days in ms: the history horizon of the login step. */
export const HISTORY_MS = 30 * 24 * 3_600_000;

/** The rule's `within`, in ms. */
export const WITHIN_MS = 600_000;

export const sequenceStatements: readonly string[] = [
  sql`
-- 15. The events a sequence rule on user_events sees, keyed by user id, each with whether it is
--     late FOR SEQUENCES: its event time strictly below its partition's watermark when read (the
--     greatest event time of the earlier valid records of its topic-partition, minus the delay).
--     Windows judge by a window's end (./windows.ts); a sequence judges the event time itself. A late
--     event is applied to nothing: it is no step and no history.
CREATE TEMP TABLE sequence_events AS
SELECT topic, "partition", "offset", user_id AS key, action, amount, device_id, event_time,
  coalesce(event_time < greatest_earlier_event_time - getvariable('watermark_delay_ms'), false) AS late
FROM read_in_partition_order
WHERE family = 'user_event' AND user_id IS NOT NULL AND user_id <> ''`,

  sql`
-- 16. Which step of new-device-payment each applied event satisfies. ORDER is (event_time,
--     partition, offset), total within a topic. The history of an event is the key's applied events
--     before it in ORDER with a device id and an event time no more than 30 days before its own (t - 30 d inclusive). The
--     latest such event in ORDER also has the greatest event time, so one lag per key (any device)
--     and one per (key, device) decide "some device seen" and "this device seen".
CREATE TEMP TABLE sequence_steps AS
WITH applied AS (
  SELECT * FROM sequence_events WHERE NOT late
),
device_history AS (
  SELECT topic, "partition", "offset",
    lag(event_time) OVER (PARTITION BY key ORDER BY event_time, "partition", "offset") AS previous_device_time,
    lag(event_time) OVER (PARTITION BY key, device_id ORDER BY event_time, "partition", "offset") AS previous_same_device_time
  FROM applied
  WHERE device_id IS NOT NULL
)
SELECT a.*,
  coalesce(
    a.action = 'login'
    AND a.device_id IS NOT NULL
    AND h.previous_device_time >= a.event_time - ${HISTORY_MS}
    AND (h.previous_same_device_time IS NULL OR h.previous_same_device_time < a.event_time - ${HISTORY_MS}),
    false) AS login_step,
  coalesce(a.action = 'payment' AND a.amount > 500, false) AS payment_step
FROM applied a
LEFT JOIN device_history h USING (topic, "partition", "offset")`,

  sql`
-- 17. The matches, completion-anchored: one per applied event satisfying the LAST step (payment),
--     with the latest chain, that is the latest login-step event before it in ORDER; it is a match
--     when the payment's event time is at most 10 minutes after that login's (inclusive). The latest
--     login has the greatest event time of all logins before the payment, so if any chain is within
--     10 minutes this one is.
CREATE TEMP TABLE sequence_matches AS
WITH latest_login AS (
  SELECT p.key, p.topic,
    p."partition" AS payment_partition, p."offset" AS payment_offset, p.event_time AS payment_time,
    l."partition" AS login_partition, l."offset" AS login_offset, l.event_time AS login_time
  FROM sequence_steps p
  JOIN sequence_steps l
    ON l.key = p.key AND l.topic = p.topic AND l.login_step
    AND (l.event_time < p.event_time
      OR (l.event_time = p.event_time AND (l."partition" < p."partition"
        OR (l."partition" = p."partition" AND l."offset" < p."offset"))))
  WHERE p.payment_step
  QUALIFY row_number() OVER (
    PARTITION BY p.topic, p."partition", p."offset"
    ORDER BY l.event_time DESC, l."partition" DESC, l."offset" DESC) = 1
)
SELECT 'new-device-payment' AS rule_id, 'account_takeover' AS alert_type, 'HIGH' AS level, *
FROM latest_login
WHERE payment_time - login_time <= ${WITHIN_MS}`,
];
