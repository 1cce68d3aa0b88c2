output "cluster_id" {
  description = "DOKS cluster id (doctl kubernetes cluster kubeconfig save <id>)."
  value       = digitalocean_kubernetes_cluster.this.id
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = digitalocean_kubernetes_cluster.this.endpoint
}

output "vpc_id" {
  description = "VPC id (for the WireGuard gateway droplet of the hybrid set-up)."
  value       = digitalocean_vpc.this.id
}

output "vpc_ip_range" {
  description = "VPC range, to route from the on-premises side of the WireGuard tunnel."
  value       = digitalocean_vpc.this.ip_range
}

output "registry_endpoint" {
  description = "Where to push the image: <endpoint>/meridian, then pin the digest in var.image."
  value       = digitalocean_container_registry.this.endpoint
}

output "postgres_private_host" {
  description = "Private host name of the PostgreSQL cluster (reachable from the VPC only)."
  value       = digitalocean_database_cluster.postgres.private_host
}

output "postgres_ca_certificate" {
  description = "CA certificate of the PostgreSQL cluster (the server certificate is signed by it)."
  value       = data.digitalocean_database_ca.postgres.certificate
}

output "kafka_brokers" {
  description = "Private bootstrap address of the Kafka cluster (MERIDIAN_KAFKA_BROKERS)."
  value       = local.kafka_brokers
}

output "kafka_topics" {
  description = "The Kafka topics created for Meridian."
  value       = sort([for topic in digitalocean_database_kafka_topic.meridian : topic.name])
}

output "objects_bucket" {
  description = "The Spaces bucket of MERIDIAN_OBJECTS_URL."
  value       = digitalocean_spaces_bucket.objects.name
}

output "objects_url" {
  description = "MERIDIAN_OBJECTS_URL as given to the roles."
  value       = local.settings["MERIDIAN_OBJECTS_URL"]
}

output "namespace" {
  description = "Namespace of the Meridian roles."
  value       = module.app.namespace
}

output "service_urls" {
  description = "In-cluster base URL of each role."
  value       = module.app.service_urls
}
