output "resource_group" {
  description = "Resource group holding every resource."
  value       = azurerm_resource_group.meridian.name
}

output "cluster_name" {
  description = "AKS cluster; credentials: az aks get-credentials -g RG -n NAME, then kubelogin convert-kubeconfig -l azurecli."
  value       = azurerm_kubernetes_cluster.meridian.name
}

output "registry" {
  description = "ACR login server to push Meridian's image to (then pin var.image by digest)."
  value       = azurerm_container_registry.meridian.login_server
}

output "kafka_bootstrap" {
  description = "MERIDIAN_KAFKA_BROKERS: the Event Hubs namespace's Kafka endpoint (SASL_SSL, PLAIN)."
  value       = "${azurerm_eventhub_namespace.meridian.name}.servicebus.windows.net:9093"
}

output "postgres_fqdn" {
  description = "PostgreSQL Flexible Server host name (resolves in the VNet only)."
  value       = azurerm_postgresql_flexible_server.meridian.fqdn
}

output "key_vault_uri" {
  description = "Key Vault holding the JWT secret, the PostgreSQL password, the Event Hubs connection string and MinIO's password."
  value       = azurerm_key_vault.meridian.vault_uri
}

output "workload_identity_client_id" {
  description = "Client id of the user-assigned identity federated with Meridian's service account."
  value       = azurerm_user_assigned_identity.meridian.client_id
}

output "objects_endpoint" {
  description = "MinIO's in-cluster S3 endpoint and Meridian's bucket."
  value       = "${local.minio_endpoint}/${local.minio_bucket}"
}
