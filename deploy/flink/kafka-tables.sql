-- The Kafka tables of Meridian's Flink jobs (production): the input topics and the results topic. Same table names
-- and columns as filesystem-tables.sql, so a job's query (jobs/<job>.sql) runs unchanged on either. A job is this
-- file followed by its query, placeholders filled in: scripts/flink/render-sql.py JOB (README.md).
--
-- Placeholders (no secret is written here; render-sql.py takes them from the environment):
--   KAFKA_BOOTSTRAP           the brokers, host:port[,host:port...]
--   KAFKA_USERNAME            the SASL user name
--   KAFKA_PASSWORD            the SASL password
--   KAFKA_SASL_MECHANISM      SCRAM-SHA-512 (default; Amazon MSK), SCRAM-SHA-256 or PLAIN (Confluent Cloud, Event Hubs)
--   KAFKA_LOGIN_MODULE        the JAAS login module of that mechanism, as the connector jar names it. With the
--                             flink-sql-connector-kafka jar (Kafka's classes relocated) the default is
--                             org.apache.flink.kafka.shaded.org.apache.kafka.common.security.scram.ScramLoginModule;
--                             for PLAIN: org.apache.flink.kafka.shaded.org.apache.kafka.common.security.plain.PlainLoginModule
--   TOPIC_PREFIX              Meridian's topic prefix, for example prod. (default: none)
--   JOB                       the job (image-bytes, orders or user-spend): consumer group and transactional ids
--   OUT_OF_ORDERNESS_SECONDS  the watermark's delay behind the largest event time (default 5, as Meridian)
--   IDLE_TIMEOUT_SECONDS      a partition silent this long stops holding the watermark back (default 30, as Meridian)
--   CHECKPOINT_INTERVAL       how often Flink checkpoints, and so commits its Kafka transactions (default 30s)

SET 'table.local-time-zone' = 'UTC';
SET 'table.exec.source.idle-timeout' = '${IDLE_TIMEOUT_SECONDS} s';
SET 'execution.checkpointing.interval' = '${CHECKPOINT_INTERVAL}';
SET 'pipeline.name' = 'meridian-analytics-${JOB}';

CREATE TABLE orders_events (
    -- The record value: the CloudEvent's data (binary content mode, CONTRACTS.md), as text.
    data STRING,
    headers MAP<STRING, BYTES> METADATA VIRTUAL,
    record_time TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
    -- NULL (every job skips the record) unless it has the ce_id, ce_source and ce_type headers.
    event_type AS CASE
        WHEN headers['ce_id'] IS NOT NULL AND headers['ce_source'] IS NOT NULL
            THEN DECODE(headers['ce_type'], 'UTF-8')
    END,
    -- ce_time in UTC (Z, +01:00 or +0100; fractional seconds truncated to milliseconds), else the record's timestamp.
    event_time AS COALESCE(CASE
        WHEN REGEXP(DECODE(headers['ce_time'], 'UTF-8'), '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$')
            THEN TRY_CAST(REPLACE(REPLACE(DECODE(headers['ce_time'], 'UTF-8'), 'T', ' '), 'Z', '') AS TIMESTAMP(3))
        WHEN REGEXP(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$')
            THEN TIMESTAMPADD(MINUTE,
                (CASE REGEXP_EXTRACT(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 4) WHEN '+' THEN -60 ELSE 60 END)
                    * CAST(REGEXP_EXTRACT(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 5) AS INT)
                    + (CASE REGEXP_EXTRACT(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 4) WHEN '+' THEN -1 ELSE 1 END)
                    * CAST(REGEXP_EXTRACT(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 6) AS INT),
                TRY_CAST(REGEXP_EXTRACT(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 1) || ' ' || REGEXP_EXTRACT(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 2) AS TIMESTAMP(3)))
    END, CAST(record_time AS TIMESTAMP(3))),
    WATERMARK FOR event_time AS event_time - INTERVAL '${OUT_OF_ORDERNESS_SECONDS}' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = '${TOPIC_PREFIX}orders',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP}',
    'properties.security.protocol' = 'SASL_SSL',
    'properties.sasl.mechanism' = '${KAFKA_SASL_MECHANISM}',
    'properties.sasl.jaas.config' = '${KAFKA_LOGIN_MODULE} required username="${KAFKA_USERNAME}" password="${KAFKA_PASSWORD}";',
    'properties.group.id' = 'meridian-flink-${JOB}',
    'properties.auto.offset.reset' = 'earliest',
    'properties.isolation.level' = 'read_committed',
    'scan.startup.mode' = 'group-offsets',
    'value.format' = 'raw'
);

CREATE TABLE product_images_events (
    -- The record value: the CloudEvent's data (binary content mode, CONTRACTS.md), as text.
    data STRING,
    headers MAP<STRING, BYTES> METADATA VIRTUAL,
    record_time TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
    -- NULL (every job skips the record) unless it has the ce_id, ce_source and ce_type headers.
    event_type AS CASE
        WHEN headers['ce_id'] IS NOT NULL AND headers['ce_source'] IS NOT NULL
            THEN DECODE(headers['ce_type'], 'UTF-8')
    END,
    -- ce_time in UTC (Z, +01:00 or +0100; fractional seconds truncated to milliseconds), else the record's timestamp.
    event_time AS COALESCE(CASE
        WHEN REGEXP(DECODE(headers['ce_time'], 'UTF-8'), '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$')
            THEN TRY_CAST(REPLACE(REPLACE(DECODE(headers['ce_time'], 'UTF-8'), 'T', ' '), 'Z', '') AS TIMESTAMP(3))
        WHEN REGEXP(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$')
            THEN TIMESTAMPADD(MINUTE,
                (CASE REGEXP_EXTRACT(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 4) WHEN '+' THEN -60 ELSE 60 END)
                    * CAST(REGEXP_EXTRACT(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 5) AS INT)
                    + (CASE REGEXP_EXTRACT(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 4) WHEN '+' THEN -1 ELSE 1 END)
                    * CAST(REGEXP_EXTRACT(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 6) AS INT),
                TRY_CAST(REGEXP_EXTRACT(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 1) || ' ' || REGEXP_EXTRACT(DECODE(headers['ce_time'], 'UTF-8'), '^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d+)?)([+-])(\d{2}):?(\d{2})$', 2) AS TIMESTAMP(3)))
    END, CAST(record_time AS TIMESTAMP(3))),
    WATERMARK FOR event_time AS event_time - INTERVAL '${OUT_OF_ORDERNESS_SECONDS}' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = '${TOPIC_PREFIX}product-images.processed',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP}',
    'properties.security.protocol' = 'SASL_SSL',
    'properties.sasl.mechanism' = '${KAFKA_SASL_MECHANISM}',
    'properties.sasl.jaas.config' = '${KAFKA_LOGIN_MODULE} required username="${KAFKA_USERNAME}" password="${KAFKA_PASSWORD}";',
    'properties.group.id' = 'meridian-flink-${JOB}',
    'properties.auto.offset.reset' = 'earliest',
    'properties.isolation.level' = 'read_committed',
    'scan.startup.mode' = 'group-offsets',
    'value.format' = 'raw'
);

-- analytics.window results (CONTRACTS.md) on the results topic as Meridian writes them: key job/window_start/key,
-- value the result object, CloudEvent headers (ce_id job/window_start/key/revision). Written in Kafka transactions
-- committed at each checkpoint: readers with isolation.level read_committed (librdkafka's default, so Meridian's)
-- see each result once.
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
    headers MAP<STRING, BYTES> METADATA
) WITH (
    'connector' = 'kafka',
    'topic' = '${TOPIC_PREFIX}analytics-results',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP}',
    'properties.security.protocol' = 'SASL_SSL',
    'properties.sasl.mechanism' = '${KAFKA_SASL_MECHANISM}',
    'properties.sasl.jaas.config' = '${KAFKA_LOGIN_MODULE} required username="${KAFKA_USERNAME}" password="${KAFKA_PASSWORD}";',
    'key.format' = 'raw',
    'key.fields' = 'record_key',
    'value.format' = 'json',
    'value.fields-include' = 'EXCEPT_KEY',
    'value.json.encode.ignore-null-fields' = 'true',
    'sink.delivery-guarantee' = 'exactly-once',
    'sink.transactional-id-prefix' = 'meridian-flink-${JOB}',
    'properties.transaction.timeout.ms' = '900000'
);
