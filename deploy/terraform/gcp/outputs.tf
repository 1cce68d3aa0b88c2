output "cluster_name" {
  description = "GKE cluster; credentials: gcloud container clusters get-credentials NAME --region REGION."
  value       = google_container_cluster.meridian.name
}

output "registry" {
  description = "Artifact Registry path to push Meridian's image to (then pin var.image by digest)."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.meridian.repository_id}"
}

output "kafka_bootstrap" {
  description = "MERIDIAN_KAFKA_BROKERS: the Managed Kafka bootstrap address (SASL_SSL, PLAIN)."
  value       = local.kafka_bootstrap
}

output "database_private_ip" {
  description = "Private address of the Cloud SQL instance."
  value       = google_sql_database_instance.meridian.private_ip_address
}

output "database_connection_name" {
  description = "Cloud SQL connection name (for the Cloud SQL Auth Proxy)."
  value       = google_sql_database_instance.meridian.connection_name
}

output "database_server_ca_cert" {
  description = "The Cloud SQL instance's server CA certificate (PEM), which the image must trust for sslmode=require."
  value       = google_sql_database_instance.meridian.server_ca_cert[0].cert
}

output "objects_bucket" {
  description = "The bucket of MERIDIAN_OBJECTS_URL (uploads/, processed/, ingest/, analytics/)."
  value       = google_storage_bucket.objects.name
}

output "service_account_email" {
  description = "Google service account of Meridian's pods (Workload Identity)."
  value       = google_service_account.meridian.email
}

output "secret_ids" {
  description = "Secret Manager secrets (JWT secret, database password, HMAC secret, Kafka password) by purpose."
  value       = { for k, s in google_secret_manager_secret.meridian : k => s.secret_id }
}

output "flink_submit_commands" {
  description = "Commands that submit the Flink twin jobs to Dataproc (the SQL runner and connector jars: README.md)."
  value = var.enable_dataproc ? [
    for job in concat(local.flink_jobs, ["postgres-sink"]) :
    "gcloud dataproc jobs submit flink --region=${var.region} --cluster=${google_dataproc_cluster.flink[0].name} --jar=gs://${google_storage_bucket.flink[0].name}/jars/sql-runner.jar --jars=gs://${google_storage_bucket.flink[0].name}/jars/flink-sql-connector-kafka.jar${job == "postgres-sink" ? ",gs://${google_storage_bucket.flink[0].name}/jars/flink-connector-jdbc.jar,gs://${google_storage_bucket.flink[0].name}/jars/postgresql.jar" : ""} -- /etc/meridian/flink/${job}.sql"
  ] : []
}
