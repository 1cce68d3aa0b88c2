-- Meridian analytics job `image-bytes` (Sources/MeridianAnalytics/AnalyticsJobs.swift): the processed image variants
-- per tumbling event-time window and size label (data.size_label): event_count, and total_bytes (sum of
-- data.size_bytes).
--
-- Reads product_images_events, writes analytics_results: both defined by kafka-tables.sql (production) and by
-- filesystem-tables.sql (scripts/flink/run-job.py, the twin test), so this query runs unchanged on both.
-- Placeholder: WINDOW_SECONDS, the window size (default 60, as Meridian), filled in by render-sql.py or run-job.py.
--
-- As Meridian reads an event's data:
-- * data must be a JSON object whose size_label is a JSON string of 1 to 256 bytes (UTF-8), else the event is
--   skipped;
-- * size_bytes counts when it is a JSON number with a whole value that fits in 64 bits, else it adds 0;
-- * sums are computed exactly and held at the ends of the 64-bit range (Meridian's sums saturate).
INSERT INTO analytics_results
SELECT
    CONCAT('image-bytes/', window_start, '/', size_label),
    'image-bytes',
    window_start,
    window_end,
    size_label,
    ROW(
        CAST(NULL AS BIGINT), event_count, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
        CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS STRING), total_bytes, CAST(NULL AS BIGINT)),
    1,
    emitted_at,
    MAP[
        'ce_specversion', ENCODE('1.0', 'UTF-8'),
        'ce_id', ENCODE(CONCAT('image-bytes/', window_start, '/', size_label, '/1'), 'UTF-8'),
        'ce_source', ENCODE('/meridian/analytics', 'UTF-8'),
        'ce_type', ENCODE('analytics.window', 'UTF-8'),
        'ce_time', ENCODE(emitted_at, 'UTF-8'),
        'content-type', ENCODE('application/json', 'UTF-8')]
FROM (
    SELECT
        DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS window_start,
        DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS window_end,
        DATE_FORMAT(CURRENT_TIMESTAMP, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS emitted_at,
        size_label,
        COUNT(*) AS event_count,
        CAST(CASE
            WHEN SUM(size_bytes) > 9223372036854775807 THEN 9223372036854775807
            WHEN SUM(size_bytes) < -9223372036854775808 THEN -9223372036854775808
            ELSE SUM(size_bytes) END AS BIGINT) AS total_bytes
    FROM TABLE(TUMBLE(
        (
            SELECT
                event_time,
                JSON_VALUE(label_json, '$[0]') AS size_label,
                CAST(CASE
                    WHEN REGEXP(bytes_json, '^\[-?[0-9]+\]$')
                        THEN COALESCE(TRY_CAST(SUBSTR(bytes_json, 2, CHAR_LENGTH(bytes_json) - 2) AS BIGINT), 0)
                    WHEN REGEXP(bytes_json, '^\[-?[0-9]')
                        AND TRY_CAST(SUBSTR(bytes_json, 2, CHAR_LENGTH(bytes_json) - 2) AS DOUBLE)
                            = FLOOR(TRY_CAST(SUBSTR(bytes_json, 2, CHAR_LENGTH(bytes_json) - 2) AS DOUBLE))
                        AND TRY_CAST(SUBSTR(bytes_json, 2, CHAR_LENGTH(bytes_json) - 2) AS DOUBLE) >= -9.223372036854775808E18
                        AND TRY_CAST(SUBSTR(bytes_json, 2, CHAR_LENGTH(bytes_json) - 2) AS DOUBLE) < 9.223372036854775808E18
                        THEN CAST(TRY_CAST(SUBSTR(bytes_json, 2, CHAR_LENGTH(bytes_json) - 2) AS DOUBLE) AS BIGINT)
                    ELSE 0
                END AS DECIMAL(38, 0)) AS size_bytes
            FROM (
                SELECT
                    event_time,
                    JSON_QUERY(data, '$.size_label' WITH ARRAY WRAPPER) AS label_json,
                    JSON_QUERY(data, '$.size_bytes' WITH ARRAY WRAPPER) AS bytes_json
                FROM product_images_events
                WHERE event_type = 'product-images.processed' AND data IS JSON OBJECT
            )
            WHERE label_json LIKE '["%' AND CHAR_LENGTH(HEX(JSON_VALUE(label_json, '$[0]'))) BETWEEN 2 AND 512
        ),
        DESCRIPTOR(event_time), INTERVAL '${WINDOW_SECONDS}' SECOND(9)))
    GROUP BY window_start, window_end, size_label
);
