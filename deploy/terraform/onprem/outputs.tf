output "kubeconfig" {
  description = "Admin kubeconfig of the cluster."
  value       = talos_cluster_kubeconfig.this.kubeconfig_raw
  sensitive   = true
}

output "talosconfig" {
  description = "talosctl client configuration (endpoints and nodes of this cluster)."
  value       = data.talos_client_configuration.this.talos_config
  sensitive   = true
}

output "control_plane_nodes" {
  description = "Control plane nodes (name => IP)."
  value       = var.control_plane_nodes
}

output "worker_nodes" {
  description = "Worker nodes (name => IP)."
  value       = var.worker_nodes
}

output "kafka_brokers" {
  description = "In-cluster bootstrap address of the Strimzi Kafka cluster (SASL_SSL, SCRAM-SHA-512)."
  value       = local.kafka_brokers
}

output "kafka_ca_certificate" {
  description = "The Kafka cluster CA certificate (clients outside Meridian need it)."
  value       = tls_self_signed_cert.kafka_ca.cert_pem
}

output "postgres_host" {
  description = "In-cluster read-write service of the CloudNativePG cluster."
  value       = local.postgres_host
}

output "objects_url" {
  description = "MERIDIAN_OBJECTS_URL as given to the roles (the MinIO tenant's bucket)."
  value       = local.settings["MERIDIAN_OBJECTS_URL"]
}

output "namespace" {
  description = "Namespace of the Meridian roles."
  value       = module.app.namespace
}
