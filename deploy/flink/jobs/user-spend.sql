-- Meridian analytics job `user-spend` (Sources/MeridianAnalytics/AnalyticsJobs.swift): confirmed orders per
-- tumbling event-time window and customer (data.user_id): order_count, spent_cents (sum of data.total_cents),
-- lifetime_spent_cents (the customer's spent_cents over every window up to and including this one) and tier (VIP
-- above 1,000,000 cents of lifetime spend, Premium above 500,000, else Regular).
--
-- Reads orders_events, writes analytics_results: both defined by kafka-tables.sql (production) and by
-- filesystem-tables.sql (scripts/flink/run-job.py, the twin test), so this query runs unchanged on both.
-- Placeholder: WINDOW_SECONDS, the window size (default 60, as Meridian), filled in by render-sql.py or run-job.py.
--
-- As Meridian reads an event's data:
-- * data must be a JSON object whose user_id is a JSON string of 1 to 256 bytes (UTF-8), else the event is skipped;
-- * total_cents counts when it is a JSON number with a whole value that fits in 64 bits, else it adds 0;
-- * sums are computed exactly and held at the ends of the 64-bit range (Meridian's sums saturate).
-- The lifetime spend is an OVER aggregation on the windowed rows, ordered by window_time (the window's last
-- millisecond): each window row is summed once the watermark passed it, in time order.
INSERT INTO analytics_results
SELECT
    CONCAT('user-spend/', window_start, '/', user_id),
    'user-spend',
    window_start,
    window_end,
    user_id,
    ROW(
        CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), lifetime_spent_cents, order_count,
        CAST(NULL AS BIGINT), spent_cents,
        CASE
            WHEN lifetime_spent_cents > 1000000 THEN 'VIP'
            WHEN lifetime_spent_cents > 500000 THEN 'Premium'
            ELSE 'Regular'
        END,
        CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)),
    1,
    emitted_at,
    MAP[
        'ce_specversion', ENCODE('1.0', 'UTF-8'),
        'ce_id', ENCODE(CONCAT('user-spend/', window_start, '/', user_id, '/1'), 'UTF-8'),
        'ce_source', ENCODE('/meridian/analytics', 'UTF-8'),
        'ce_type', ENCODE('analytics.window', 'UTF-8'),
        'ce_time', ENCODE(emitted_at, 'UTF-8'),
        'content-type', ENCODE('application/json', 'UTF-8')]
FROM (
    SELECT
        DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS window_start,
        DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS window_end,
        DATE_FORMAT(CURRENT_TIMESTAMP, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS emitted_at,
        user_id,
        order_count,
        CAST(CASE
            WHEN spent > 9223372036854775807 THEN 9223372036854775807
            WHEN spent < -9223372036854775808 THEN -9223372036854775808
            ELSE spent END AS BIGINT) AS spent_cents,
        CAST(CASE
            WHEN lifetime > 9223372036854775807 THEN 9223372036854775807
            WHEN lifetime < -9223372036854775808 THEN -9223372036854775808
            ELSE lifetime END AS BIGINT) AS lifetime_spent_cents
    FROM (
        SELECT
            window_start,
            window_end,
            user_id,
            order_count,
            spent,
            SUM(CASE
                WHEN spent > 9223372036854775807 THEN 9223372036854775807
                WHEN spent < -9223372036854775808 THEN -9223372036854775808
                ELSE spent END) OVER (
                    PARTITION BY user_id ORDER BY window_time ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                ) AS lifetime
        FROM (
            SELECT window_start, window_end, window_time, user_id, COUNT(*) AS order_count, SUM(total_cents) AS spent
            FROM TABLE(TUMBLE(
                (
                    SELECT
                        event_time,
                        JSON_VALUE(user_json, '$[0]') AS user_id,
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
                    WHERE user_json LIKE '["%' AND CHAR_LENGTH(HEX(JSON_VALUE(user_json, '$[0]'))) BETWEEN 2 AND 512
                ),
                DESCRIPTOR(event_time), INTERVAL '${WINDOW_SECONDS}' SECOND(9)))
            GROUP BY window_start, window_end, window_time, user_id
        )
    )
);
