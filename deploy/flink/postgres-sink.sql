-- Meridian's SQL sink for the results of the Flink jobs: a job that copies each analytics.window result from the
-- analytics-results topic into the PostgreSQL table analytics_metrics (CONTRACTS.md; Meridian's analytics role
-- creates it: job, window_start, key, window_end, metrics as JSON text, revision, updated_at; primary key
-- (job, window_start, key)). Upserts: a replay after a failure writes the same rows again, never a second one.
-- One such job serves all three analytics jobs. Run it with scripts/flink/render-sql.py postgres-sink (README.md).
--
-- Placeholders besides those of kafka-tables.sql for the brokers (KAFKA_BOOTSTRAP, KAFKA_USERNAME,
-- KAFKA_PASSWORD, KAFKA_SASL_MECHANISM, KAFKA_LOGIN_MODULE, TOPIC_PREFIX, CHECKPOINT_INTERVAL):
--   POSTGRES_URL       jdbc:postgresql://HOST:5432/DATABASE?sslmode=require
--   POSTGRES_USER      the database user
--   POSTGRES_PASSWORD  its password

SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '${CHECKPOINT_INTERVAL}';
SET 'pipeline.name' = 'meridian-analytics-postgres-sink';

CREATE TABLE analytics_results_in (
    job STRING,
    window_start STRING,
    window_end STRING,
    `key` STRING,
    metrics ROW<
        avg_order_value_cents BIGINT, event_count BIGINT, lifetime_spent_cents BIGINT, order_count BIGINT,
        revenue_cents BIGINT, spent_cents BIGINT, tier STRING, total_bytes BIGINT, unique_users BIGINT>,
    revision INT,
    emitted_at STRING
) WITH (
    'connector' = 'kafka',
    'topic' = '${TOPIC_PREFIX}analytics-results',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP}',
    'properties.security.protocol' = 'SASL_SSL',
    'properties.sasl.mechanism' = '${KAFKA_SASL_MECHANISM}',
    'properties.sasl.jaas.config' = '${KAFKA_LOGIN_MODULE} required username="${KAFKA_USERNAME}" password="${KAFKA_PASSWORD}";',
    'properties.group.id' = 'meridian-flink-postgres-sink',
    'properties.auto.offset.reset' = 'earliest',
    'properties.isolation.level' = 'read_committed',
    'scan.startup.mode' = 'group-offsets',
    'value.format' = 'json',
    'value.json.ignore-parse-errors' = 'true'
);

CREATE TABLE analytics_metrics (
    job STRING,
    window_start STRING,
    `key` STRING,
    window_end STRING,
    metrics STRING,
    revision BIGINT,
    updated_at STRING,
    PRIMARY KEY (job, window_start, `key`) NOT ENFORCED
) WITH (
    'connector' = 'jdbc',
    'url' = '${POSTGRES_URL}',
    'table-name' = 'analytics_metrics',
    'username' = '${POSTGRES_USER}',
    'password' = '${POSTGRES_PASSWORD}',
    'sink.buffer-flush.interval' = '1s',
    'sink.max-retries' = '5'
);

-- metrics as Meridian writes them: keys sorted, no spaces, only the job's own metrics.
INSERT INTO analytics_metrics
SELECT
    job,
    window_start,
    `key`,
    window_end,
    JSON_OBJECT(
        KEY 'avg_order_value_cents' VALUE metrics.avg_order_value_cents,
        KEY 'event_count' VALUE metrics.event_count,
        KEY 'lifetime_spent_cents' VALUE metrics.lifetime_spent_cents,
        KEY 'order_count' VALUE metrics.order_count,
        KEY 'revenue_cents' VALUE metrics.revenue_cents,
        KEY 'spent_cents' VALUE metrics.spent_cents,
        KEY 'tier' VALUE metrics.tier,
        KEY 'total_bytes' VALUE metrics.total_bytes,
        KEY 'unique_users' VALUE metrics.unique_users
        ABSENT ON NULL),
    CAST(revision AS BIGINT),
    DATE_FORMAT(CURRENT_TIMESTAMP, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')
FROM analytics_results_in
WHERE job IS NOT NULL AND window_start IS NOT NULL AND `key` IS NOT NULL;
