-- The tables of Meridian's Flink jobs over files: what scripts/flink/run-job.py runs a job with (the twin test,
-- the benchmark), and a way to run a job over a file of structured CloudEvents, one per line, as
-- `meridian analytics replay` reads them. Same table names and columns as kafka-tables.sql, so a job's query
-- (jobs/<job>.sql) runs unchanged on either.
--
-- Placeholders (scripts/flink/run-job.py fills them in):
--   INPUT_PATH                the CloudEvents file (JSON lines)
--   OUTPUT_PATH               a directory for the results (JSON lines, one object per window and key)
--   OUT_OF_ORDERNESS_SECONDS  the watermark's delay behind the largest event time (Meridian's default: 5)
--
-- Each line is read as a structured CloudEvent. `data` is kept as JSON text: the jobs check the JSON type of the
-- fields they read as Meridian does (a key must be a string, an amount a whole number). Lines that are not JSON, or
-- whose specversion is not 1.0, or whose time is not an RFC 3339 timestamp, get no event_type: every job skips
-- them. (Meridian's replay also reads the legacy shape {id, type, timestamp, payload} and data_base64; this does not.)

SET 'table.local-time-zone' = 'UTC';

-- Every line of the file. The jobs read it through the views below, named after the topics of kafka-tables.sql.
CREATE TABLE cloudevents (
    specversion STRING,
    `type` STRING,
    `time` STRING,
    data STRING,
    -- NULL (every job skips the event) unless specversion is 1.0 and time an RFC 3339 timestamp.
    event_type AS CASE WHEN specversion = '1.0' AND CASE
            WHEN REGEXP(`time`, '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$')
                THEN TRY_CAST(REPLACE(REPLACE(`time`, 'T', ' '), 'Z', '') AS TIMESTAMP(3))
            WHEN REGEXP(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$')
                THEN TIMESTAMPADD(MINUTE,
                    (CASE REGEXP_EXTRACT(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 4) WHEN '+' THEN -60 ELSE 60 END)
                        * CAST(REGEXP_EXTRACT(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 5) AS INT)
                        + (CASE REGEXP_EXTRACT(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 4) WHEN '+' THEN -1 ELSE 1 END)
                        * CAST(REGEXP_EXTRACT(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 6) AS INT),
                    TRY_CAST(REGEXP_EXTRACT(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 1) || ' ' || REGEXP_EXTRACT(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 2) AS TIMESTAMP(3)))
        END IS NOT NULL THEN `type` END,
    -- The time in UTC, fractional seconds truncated to milliseconds; Z, +01:00 and +0100 are read. Never NULL
    -- (Flink's watermark assigner fails on a NULL time): 1970 for a line without a valid time (it has no event_type
    -- either).
    event_time AS COALESCE(CASE
        WHEN REGEXP(`time`, '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$')
            THEN TRY_CAST(REPLACE(REPLACE(`time`, 'T', ' '), 'Z', '') AS TIMESTAMP(3))
        WHEN REGEXP(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$')
            THEN TIMESTAMPADD(MINUTE,
                (CASE REGEXP_EXTRACT(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 4) WHEN '+' THEN -60 ELSE 60 END)
                    * CAST(REGEXP_EXTRACT(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 5) AS INT)
                    + (CASE REGEXP_EXTRACT(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 4) WHEN '+' THEN -1 ELSE 1 END)
                    * CAST(REGEXP_EXTRACT(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 6) AS INT),
                TRY_CAST(REGEXP_EXTRACT(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 1) || ' ' || REGEXP_EXTRACT(`time`, '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 2) AS TIMESTAMP(3)))
    END, TIMESTAMP '1970-01-01 00:00:00.000'),
    WATERMARK FOR event_time AS event_time - INTERVAL '${OUT_OF_ORDERNESS_SECONDS}' SECOND
) WITH (
    'connector' = 'filesystem',
    'path' = '${INPUT_PATH}',
    'format' = 'json',
    'json.ignore-parse-errors' = 'true'
);

CREATE TEMPORARY VIEW orders_events AS SELECT event_type, event_time, data FROM cloudevents;

CREATE TEMPORARY VIEW product_images_events AS SELECT event_type, event_time, data FROM cloudevents;

-- One row per window and key, the analytics.window object of CONTRACTS.md plus what the Kafka sink needs (record
-- key and CloudEvent headers). `metrics` holds every job's metric names; a job fills its own, the others stay null
-- and are left out of the JSON.
CREATE TABLE analytics_results (
    record_key STRING,
    job STRING,
    window_start STRING,
    window_end STRING,
    `key` STRING,
    metrics ROW<
        avg_order_value_cents BIGINT, event_count BIGINT, lifetime_spent_cents BIGINT, order_count BIGINT,
        revenue_cents BIGINT, spent_cents BIGINT, tier STRING, total_bytes BIGINT, unique_users BIGINT>,
    revision INT,
    emitted_at STRING,
    headers MAP<STRING, BYTES>
) WITH (
    'connector' = 'filesystem',
    'path' = '${OUTPUT_PATH}',
    'format' = 'json',
    'json.encode.ignore-null-fields' = 'true'
);
