locals {
  secret_name = "meridian-secrets"
  db_url      = "postgres://${azurerm_postgresql_flexible_server.meridian.administrator_login}:${random_password.postgres.result}@${azurerm_postgresql_flexible_server.meridian.fqdn}:5432/${azurerm_postgresql_flexible_server_database.meridian.name}?sslmode=require"

  # docs/configuration.md and docs/operations.md ("Azure Event Hubs"); the k8s-app module puts these in the
  # ConfigMap. var.settings wins.
  settings = merge({
    MERIDIAN_EVENT_LOG                        = "kafka"
    MERIDIAN_KAFKA_BROKERS                    = "${azurerm_eventhub_namespace.meridian.name}.servicebus.windows.net:9093"
    MERIDIAN_KAFKA_PROPERTY_SECURITY_PROTOCOL = "SASL_SSL"
    MERIDIAN_KAFKA_PROPERTY_SASL_MECHANISM    = "PLAIN"
    MERIDIAN_KAFKA_PROPERTY_SASL_USERNAME     = "$ConnectionString"
    MERIDIAN_KAFKA_COMPRESSION                = "none"
    MERIDIAN_TOPICS_PREFIX                    = var.topic_prefix
    MERIDIAN_TOPICS_PARTITIONS                = tostring(var.topic_partitions)
    MERIDIAN_OBJECTS_URL                      = "s3://${local.minio_bucket}?endpoint=${local.minio_endpoint}&pathStyle=true&region=us-east-1"
    MERIDIAN_STORAGE_MAX_CONNECTIONS          = "10"
    # AKS's managed NGINX runs in the cluster: its pods' addresses are in the AKS subnet (Azure CNI).
    MERIDIAN_HTTP_TRUSTED_PROXIES = var.aks_subnet_cidr
  }, var.settings)
}

# The sensitive MERIDIAN_* variables, from the same values as Key Vault's (keyvault.tf).
resource "kubernetes_secret_v1" "meridian" {
  metadata {
    name      = local.secret_name
    namespace = module.meridian.namespace
  }

  data = {
    MERIDIAN_AUTH_JWT_SECRET              = random_password.jwt.result
    MERIDIAN_STORAGE_URL                  = local.db_url
    MERIDIAN_KAFKA_PROPERTY_SASL_PASSWORD = azurerm_eventhub_namespace_authorization_rule.meridian.primary_connection_string
    MERIDIAN_OBJECTS_ACCESS_KEY_ID        = "meridian"
    MERIDIAN_OBJECTS_SECRET_ACCESS_KEY    = random_password.minio.result
  }
}

module "meridian" {
  source = "../modules/k8s-app"

  namespace   = var.namespace
  image       = var.image
  settings    = local.settings
  secret_name = local.secret_name
  labels      = local.tags

  service_account_annotations = {
    "azure.workload.identity/client-id" = azurerm_user_assigned_identity.meridian.client_id
  }

  ingress_host  = var.ingress_host
  ingress_class = var.ingress_class

  depends_on = [
    azurerm_role_assignment.terraform_cluster_admin,
    azurerm_role_assignment.aks_acr_pull,
    azurerm_kubernetes_cluster_node_pool.apps,
    azurerm_eventhub.topics,
    azurerm_postgresql_flexible_server_database.meridian,
  ]
}
