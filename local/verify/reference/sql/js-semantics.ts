/**
 * How the engine reads a value, re-expressed in SQL: JSON.parse, the field rules of
 * lib/schemas/fields.ts with the conversions of normalise.ts, and V8's Date.parse for the ISO-8601
 * strings the schema lets through. Written from reading those files (and V8's dateparser), sharing
 * no code with them.
 *
 * Macros stay small and take plain values: DuckDB expands a macro at every call site, so macros
 * built from macros that repeat their arguments grow exponentially (and take seconds to bind).
 * Multi-step computations (Date.parse) are stages over columns instead.
 *
 * A JSON member enters as two values, exactly one of them non-NULL when the member is a number or
 * a string: `num`, the double JSON.parse makes of a number, and `str`, a string's text. A macro
 * named `*_of` returns the normalised value, or NULL when the engine would quarantine the record.
 */

const sql = String.raw;

/** JSON.parse: what DuckDB's JSON reader accepts beyond it, taken away again. */
const jsonParse = [
  sql`
-- The document with the contents of every string literal removed: what is left is JSON's
-- structure, numbers and literals, so a look at it cannot be fooled by text inside strings.
CREATE MACRO json_skeleton(doc) AS
  regexp_replace(doc, '(?s)"(?:[^"\\]|\\.)*"', '""', 'g')`,
  sql`
-- Whether JSON.parse accepts a document DuckDB accepts, judged by its skeleton. DuckDB's reader
-- (yyjson) is lenient where JSON.parse is not: it takes NaN / Infinity / inf literals (so: any
-- letter outside strings other than those of true, false, null and an exponent's e) and trailing
-- commas before } or ]. Both are refused here.
-- Known gap: a lone UTF-16 surrogate escape ("\ud800") is accepted by JSON.parse but refused by
-- DuckDB, so such a record is quarantined here and not by the engine (see reference.ts).
CREATE MACRO js_accepts_skeleton(skeleton) AS
  NOT regexp_matches(regexp_replace(skeleton, '\b(?:true|false|null)\b', '', 'g'), '[A-DF-Za-df-z]')
  AND NOT regexp_matches(skeleton, ',[ \t\n\r]*[\]}]')`,
  sql`
-- A JSON member's number as JSON.parse reads it: a double, so 42.0 is 42, integers past 2^53 round,
-- and 1e400 is Infinity (DuckDB keeps such numbers as raw text; the cast reads it the same way).
CREATE MACRO js_number(jtype, jvalue) AS
  CASE WHEN jtype IN ('UBIGINT', 'BIGINT', 'DOUBLE') THEN CAST(jvalue AS DOUBLE) END`,
  sql`
-- A JSON member's string.
CREATE MACRO js_string(jtype, jvalue) AS
  CASE WHEN jtype = 'VARCHAR' THEN json_extract_string(jvalue, '$') END`,
];

/** The field rules of lib/schemas/fields.ts, with the conversions of normalise.ts. */
const fieldRules = [
  sql`
-- text: a non-empty string of at most 256 characters. zod measures strings in code points, as
-- DuckDB's length() does (not in UTF-16 units: 256 emoji fit). A name (lib/schemas/text.ts): no
-- control (Cc) or invisible format (Cf) character, and compared in Unicode NFC, which must also be
-- at most 256 characters long. (Lone surrogates, also refused there, cannot reach DuckDB.)
CREATE MACRO text_of(str) AS
  CASE WHEN length(str) BETWEEN 1 AND 256
    AND NOT regexp_matches(str, '[\p{Cc}\p{Cf}]')
    AND length(nfc_normalize(str)) <= 256
    THEN nfc_normalize(str) END`,
  sql`
-- id: text, or a non-negative integer within zod's int() range (at most 2^53 - 1), written as
-- String() writes it: 42, 42.0 and 4.2e1 all become '42', and -0 becomes '0'.
CREATE MACRO id_of(num, str) AS
  CASE
    WHEN str IS NOT NULL THEN text_of(str)
    WHEN num BETWEEN 0 AND 9007199254740991 AND num = trunc(num) THEN CAST(CAST(num AS BIGINT) AS VARCHAR)
  END`,
  sql`
CREATE MACRO within_magnitude(x) AS x BETWEEN -1e15 AND 1e15`,
  sql`
-- The number as ingest keeps it: rounded to six decimal places, half away from zero, as a double
-- (millionths / 1e6); NULL, an underflow, when it is not 0 but rounds to 0.
CREATE MACRO six_places(x) AS
  CASE
    WHEN x <> 0 AND round(abs(x) * 1000000) = 0 THEN NULL
    WHEN x < 0 THEN -(round(abs(x) * 1000000) / 1000000)
    ELSE round(abs(x) * 1000000) / 1000000
  END`,
  sql`
-- decimal: a finite number within ±1e15, or a numeric string (at most 40 characters, matching the
-- schema's regex) whose Number() is within ±1e15 ('1e400' is Infinity: refused); then six_places.
CREATE MACRO decimal_of(num, str) AS
  six_places(CASE
    WHEN within_magnitude(num) THEN num
    WHEN length(str) <= 40
      AND regexp_full_match(str, '-?\d+(\.\d+)?([eE][-+]?\d+)?')
      AND within_magnitude(TRY_CAST(str AS DOUBLE))
      THEN TRY_CAST(str AS DOUBLE)
  END)`,
  sql`
-- The shape of an event time field (z.union([z.number(), z.string().max(40)])): a finite number or
-- a string of at most 40 characters. Checked for BOTH spellings when both are present, although
-- only one of them is then read.
CREATE MACRO time_shape_ok(num, str) AS
  coalesce(isfinite(num), false) OR coalesce(length(str) <= 40, false)`,
  sql`
-- toEventTime's last step: below 1e11 ms (March 1973) is taken for epoch seconds and refused, and
-- after 9999-12-31T23:59:59.999Z (253402300799999) no window can be dated or stored; the rest is
-- truncated to whole milliseconds.
CREATE MACRO plausible_epoch_ms(ms) AS
  CASE WHEN isfinite(ms) AND ms >= 1e11 AND ms <= 253402300799999 THEN trunc(ms) END`,
  sql`
-- toEventTime (lib/schemas/normalise.ts): a number, or a string of digits, is epoch ms; any other
-- string is Date.parse'd when it matches the schema's ISO-8601 regex (iso_ms: the date_parse
-- stage's answer for it, NULL when V8 refuses it or the regex does not match).
CREATE MACRO event_time_of(num, str, iso_ms) AS
  plausible_epoch_ms(
    CASE
      WHEN num IS NOT NULL THEN num
      WHEN regexp_full_match(str, '\d+') THEN TRY_CAST(str AS DOUBLE)
      ELSE iso_ms
    END)`,
];

/** Calendar arithmetic for Date.parse. */
const calendar = [
  sql`
-- Days from 1970-01-01 to year-month-day, proleptic Gregorian (Howard Hinnant's days_from_civil,
-- with years counted from March so that a leap day is a year's last day). A day past the month's
-- end rolls over into the next month, as V8's MakeDay does: 2024-02-30 is 1 March.
CREATE MACRO days_from_era(era, year_of_era, day_of_year) AS
  era * 146097 + year_of_era * 365 + floor(year_of_era / 4) - floor(year_of_era / 100) + day_of_year - 719468`,
  sql`
CREATE MACRO days_from_march_years(y, months_since_march, d) AS
  days_from_era(floor(y / 400), y - floor(y / 400) * 400, floor((153 * months_since_march + 2) / 5) + d - 1)`,
  sql`
CREATE MACRO days_from_civil(y, m, d) AS
  days_from_march_years(y - CASE WHEN m <= 2 THEN 1 ELSE 0 END, CASE WHEN m > 2 THEN m - 3 ELSE m + 9 END, d)`,
  sql`
-- Epoch ms of a date and time at a UTC offset, then V8's TimeClip (NULL beyond ±8.64e15).
CREATE MACRO epoch_ms(year, month, day, hour, minute, second, ms, offset_minutes) AS
  CASE WHEN abs(days_from_civil(year, month, day) * 86400000.0 + hour * 3600000 + minute * 60000 + second * 1000 + ms - offset_minutes * 60000) <= 8.64e15
    THEN days_from_civil(year, month, day) * 86400000.0 + hour * 3600000 + minute * 60000 + second * 1000 + ms - offset_minutes * 60000
  END`,
  sql`
-- The legacy parser's two-digit years: 0-49 are 20xx, 50-99 are 19xx.
CREATE MACRO two_digit_year(y) AS
  CASE WHEN y BETWEEN 0 AND 49 THEN y + 2000 WHEN y BETWEEN 50 AND 99 THEN y + 1900 ELSE y END`,
];

export const jsSemanticsMacros: readonly string[] = [...jsonParse, ...fieldRules, ...calendar];

/**
 * V8's Date.parse of the strings in table `time_strings(s)`, into table `date_parse(s, ms)` (ms
 * NULL: NaN). Only strings matching the schema's regex are parsed (the engine never calls Date.parse
 * on others):
 *   ^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$
 * V8 reads the 'T' form as an ES5 date-time string. The ' ' form falls through to its legacy parser,
 * laxer in some places and odder in others. Checked against node 20's Date.parse, which
 * test/unit/reference.test.ts fuzzes it against.
 *
 * A time without an offset is local time in both forms. The system runs in UTC (Lambda, CI), so it
 * is read as UTC here.
 */
export const dateParseStatement = sql`
-- 7. Date.parse of every event time string (see above).
CREATE TEMP TABLE date_parse AS
WITH matched AS (
  SELECT s, regexp_extract(s,
      '^(\d{4})-(\d{2})-(\d{2})([T ])(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2})(:?)(\d{2}))?$',
      ['year', 'month', 'day', 'separator', 'hour', 'minute', 'second', 'fraction', 'zone', 'zone_sign', 'zone_hour', 'zone_colon', 'zone_minute']
    ) AS p
  FROM (SELECT DISTINCT s FROM time_strings WHERE s IS NOT NULL)
),
parts AS (
  -- The captured parts as numbers (an absent optional part captures as '': NULL, or 0 where V8
  -- defaults it).
  SELECT s,
    p.separator,
    TRY_CAST(p.year AS BIGINT) AS year_field,
    TRY_CAST(p.month AS BIGINT) AS month_field,
    TRY_CAST(p.day AS BIGINT) AS day_field,
    TRY_CAST(p.hour AS BIGINT) AS hour,
    TRY_CAST(p.minute AS BIGINT) AS minute,
    coalesce(TRY_CAST(nullif(p.second, '') AS BIGINT), 0) AS second,
    -- The fraction as V8's ES5 parser weighs it for 24:00 (as a number: '0001' is 1) ...
    coalesce(TRY_CAST(nullif(p.fraction, '') AS BIGINT), 0) AS fraction_number,
    -- ... and as milliseconds: its first three digits, the rest truncated.
    coalesce(CAST(rpad(left(nullif(p.fraction, ''), 3), 3, '0') AS BIGINT), 0) AS ms,
    p.zone_sign <> '' AS has_offset,
    p.zone_colon <> '' AS offset_has_colon,
    coalesce(TRY_CAST(nullif(p.zone_hour, '') AS BIGINT), 0) AS offset_hours,
    coalesce(TRY_CAST(nullif(p.zone_minute, '') AS BIGINT), 0) AS offset_field_minutes,
    -- No offset (local time, read as UTC) and Z are both 0.
    CASE p.zone_sign WHEN '-' THEN -1 ELSE 1 END
      * (coalesce(TRY_CAST(nullif(p.zone_hour, '') AS BIGINT), 0) * 60 + coalesce(TRY_CAST(nullif(p.zone_minute, '') AS BIGINT), 0)) AS offset_minutes
  FROM matched
  WHERE p.separator <> '' -- the regex matched
),
es5 AS (
  -- 'T': month 1-12, day 1-31; hour 0-24, 24 only as 24:00[:00[.000]] (a fraction counts as a
  -- number here, so 24:00:00.0001 is refused); minute and second 0-59; offset hours 0-23 and
  -- minutes 0-59, with or without the colon. Years as written.
  SELECT s,
    CASE WHEN month_field BETWEEN 1 AND 12
          AND day_field BETWEEN 1 AND 31
          AND hour BETWEEN 0 AND 24
          AND minute BETWEEN 0 AND 59
          AND second BETWEEN 0 AND 59
          AND (hour < 24 OR (minute = 0 AND second = 0 AND fraction_number = 0))
          AND (NOT has_offset OR (offset_hours BETWEEN 0 AND 23 AND offset_field_minutes BETWEEN 0 AND 59))
      THEN epoch_ms(year_field, month_field, day_field, hour, minute, second, ms, offset_minutes)
    END AS ms
  FROM parts WHERE separator = 'T'
),
legacy_dates AS (
  -- ' ': the legacy parser collects the three date numbers and reads them as year-month-day,
  -- unless the first could be a day (1-31): then as month-day-year, so '0005-12-31 10:00' is
  -- 12 May 2031. Its years of 0-99 are two-digit years.
  SELECT *,
    CASE WHEN year_field BETWEEN 1 AND 31 THEN year_field ELSE month_field END AS month,
    CASE WHEN year_field BETWEEN 1 AND 31 THEN month_field ELSE day_field END AS day,
    two_digit_year(CASE WHEN year_field BETWEEN 1 AND 31 THEN day_field ELSE year_field END) AS year
  FROM parts WHERE separator = ' '
),
legacy AS (
  -- Then month 1-12 and day 1-31; hour 0-23, or 24 when minutes, seconds and milliseconds (the
  -- truncated fraction) are 0; minute and second 0-59. Offsets: '+hh:mm' needs minutes 0-59 but
  -- takes any hours; '+hhmm' is hh hours and mm minutes, unbounded ('+0099' is 1 h 39 min).
  SELECT s,
    CASE WHEN month BETWEEN 1 AND 12
          AND day BETWEEN 1 AND 31
          AND minute BETWEEN 0 AND 59
          AND second BETWEEN 0 AND 59
          AND (hour BETWEEN 0 AND 23 OR (hour = 24 AND minute = 0 AND second = 0 AND ms = 0))
          AND (NOT offset_has_colon OR offset_field_minutes BETWEEN 0 AND 59)
      THEN epoch_ms(year, month, day, hour, minute, second, ms, offset_minutes)
    END AS ms
  FROM legacy_dates
)
SELECT s, ms FROM es5
UNION ALL
SELECT s, ms FROM legacy`;
