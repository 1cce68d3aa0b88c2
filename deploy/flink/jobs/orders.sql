-- Meridian analytics job `orders` (Sources/MeridianAnalytics/AnalyticsJobs.swift): the shop's confirmed orders per
-- tumbling event-time window, under the single key `all`: order_count, revenue_cents (sum of data.total_cents),
-- unique_users (distinct data.user_id) and avg_order_value_cents (revenue_cents / order_count, truncated).
--
-- Reads orders_events, writes analytics_results: both defined by kafka-tables.sql (production) and by
-- filesystem-tables.sql (scripts/flink/run-job.py, the twin test), so this query runs unchanged on both.
-- Placeholder: WINDOW_SECONDS, the window size (default 60, as Meridian), filled in by render-sql.py or run-job.py.
--
-- As Meridian reads an event's data:
-- * data must be a JSON object, else the event is skipped;
-- * total_cents counts when it is a JSON number with a whole value that fits in 64 bits, else it adds 0;
-- * user_id counts towards unique_users when it is a JSON string of 1 to 256 bytes (UTF-8), else the order still
--   counts but not its user;
-- * sums are computed exactly and held at the ends of the 64-bit range (Meridian's sums saturate).
INSERT INTO analytics_results
SELECT
    CONCAT('orders/', window_start, '/all'),
    'orders',
    window_start,
    window_end,
    'all',
    ROW(
        revenue_cents / order_count, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), order_count,
        revenue_cents, CAST(NULL AS BIGINT), CAST(NULL AS STRING), CAST(NULL AS BIGINT), unique_users),
    1,
    emitted_at,
    MAP[
        'ce_specversion', ENCODE('1.0', 'UTF-8'),
        'ce_id', ENCODE(CONCAT('orders/', window_start, '/all/1'), 'UTF-8'),
        'ce_source', ENCODE('/meridian/analytics', 'UTF-8'),
        'ce_type', ENCODE('analytics.window', 'UTF-8'),
        'ce_time', ENCODE(emitted_at, 'UTF-8'),
        'content-type', ENCODE('application/json', 'UTF-8')]
FROM (
    SELECT
        DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS window_start,
        DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS window_end,
        DATE_FORMAT(CURRENT_TIMESTAMP, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS emitted_at,
        COUNT(*) AS order_count,
        CAST(CASE
            WHEN SUM(total_cents) > 9223372036854775807 THEN 9223372036854775807
            WHEN SUM(total_cents) < -9223372036854775808 THEN -9223372036854775808
            ELSE SUM(total_cents) END AS BIGINT) AS revenue_cents,
        COUNT(DISTINCT user_id) AS unique_users
    FROM TABLE(TUMBLE(
        (
            SELECT
                event_time,
                CASE
                    WHEN CHAR_LENGTH(HEX(JSON_VALUE(user_json, '$[0]'))) BETWEEN 2 AND 512
                        AND user_json LIKE '["%' THEN JSON_VALUE(user_json, '$[0]')
                END AS user_id,
                CAST(CASE
                    WHEN REGEXP(total_json, '^\[-?[0-9]+\]$')
                        THEN COALESCE(TRY_CAST(SUBSTR(total_json, 2, CHAR_LENGTH(total_json) - 2) AS BIGINT), 0)
                    WHEN REGEXP(total_json, '^\[-?[0-9]')
                        AND TRY_CAST(SUBSTR(total_json, 2, CHAR_LENGTH(total_json) - 2) AS DOUBLE)
                            = FLOOR(TRY_CAST(SUBSTR(total_json, 2, CHAR_LENGTH(total_json) - 2) AS DOUBLE))
                        AND TRY_CAST(SUBSTR(total_json, 2, CHAR_LENGTH(total_json) - 2) AS DOUBLE) >= -9.223372036854775808E18
                        AND TRY_CAST(SUBSTR(total_json, 2, CHAR_LENGTH(total_json) - 2) AS DOUBLE) < 9.223372036854775808E18
                        THEN CAST(TRY_CAST(SUBSTR(total_json, 2, CHAR_LENGTH(total_json) - 2) AS DOUBLE) AS BIGINT)
                    ELSE 0
                END AS DECIMAL(38, 0)) AS total_cents
            FROM (
                SELECT
                    event_time,
                    JSON_QUERY(data, '$.user_id' WITH ARRAY WRAPPER) AS user_json,
                    JSON_QUERY(data, '$.total_cents' WITH ARRAY WRAPPER) AS total_json
                FROM orders_events
                WHERE event_type = 'order.confirmed' AND data IS JSON OBJECT
            )
        ),
        DESCRIPTOR(event_time), INTERVAL '${WINDOW_SECONDS}' SECOND(9)))
    GROUP BY window_start, window_end
);
