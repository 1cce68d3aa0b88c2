#!/bin/bash
# Dataproc initialization action (dataproc.tf): on the master, renders Meridian's Flink jobs (deploy/flink) into
# /etc/meridian/flink/<job>.sql, readable by root and the yarn group only, since they hold the Kafka password.
set -euo pipefail

[[ "$(/usr/share/google/get_metadata_value attributes/dataproc-role)" == "Master" ]] || exit 0

attribute() { /usr/share/google/get_metadata_value "attributes/$1"; }
secret() { gcloud secrets versions access latest --secret="$1"; }

sources="$(attribute meridian-sources)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gcloud storage cp --recursive "$sources/*" "$work/"

export KAFKA_BOOTSTRAP KAFKA_USERNAME KAFKA_PASSWORD TOPIC_PREFIX KAFKA_SASL_MECHANISM KAFKA_LOGIN_MODULE
KAFKA_BOOTSTRAP="$(attribute meridian-kafka-bootstrap)"
KAFKA_USERNAME="$(attribute meridian-kafka-username)"
KAFKA_PASSWORD="$(secret "$(attribute meridian-kafka-secret)")"
TOPIC_PREFIX="$(attribute meridian-topic-prefix || true)"
KAFKA_SASL_MECHANISM=PLAIN
KAFKA_LOGIN_MODULE=org.apache.flink.kafka.shaded.org.apache.kafka.common.security.plain.PlainLoginModule

install -d -m 0750 -o root -g yarn /etc/meridian/flink
umask 027
for job in image-bytes orders user-spend; do
  python3 "$work/scripts/flink/render-sql.py" "$job" > "/etc/meridian/flink/$job.sql"
done
POSTGRES_URL="$(attribute meridian-db-url)" POSTGRES_USER=meridian \
  POSTGRES_PASSWORD="$(secret "$(attribute meridian-db-secret)")" \
  python3 "$work/scripts/flink/render-sql.py" postgres-sink > /etc/meridian/flink/postgres-sink.sql
chgrp yarn /etc/meridian/flink/*.sql
