locals {
  secret_name = "meridian-secrets"
  db_url      = "postgres://${google_sql_user.meridian.name}:${random_password.db.result}@${google_sql_database_instance.meridian.private_ip_address}:5432/${google_sql_database.meridian.name}?sslmode=require"

  # docs/configuration.md; the k8s-app module puts these in the ConfigMap. var.settings wins.
  settings = merge({
    MERIDIAN_LOG_FORMAT                       = "json"
    MERIDIAN_HTTP_TRUSTED_PROXIES             = join(",", var.trusted_proxies)
    MERIDIAN_EVENT_LOG                        = "kafka"
    MERIDIAN_KAFKA_BROKERS                    = local.kafka_bootstrap
    MERIDIAN_KAFKA_PROPERTY_SECURITY_PROTOCOL = "SASL_SSL"
    MERIDIAN_KAFKA_PROPERTY_SASL_MECHANISM    = "PLAIN"
    MERIDIAN_KAFKA_PROPERTY_SASL_USERNAME     = google_service_account.meridian.email
    MERIDIAN_TOPICS_PREFIX                    = var.topic_prefix
    MERIDIAN_TOPICS_PARTITIONS                = tostring(var.topic_partitions)
    MERIDIAN_OBJECTS_URL                      = "s3://${google_storage_bucket.objects.name}?endpoint=https://storage.googleapis.com&region=auto"
    MERIDIAN_STORAGE_MAX_CONNECTIONS          = "10"
  }, var.settings)
}

# The sensitive MERIDIAN_* variables, from the same values as Secret Manager's (secrets.tf). Set
# create_app_env = false to sync this Secret from Secret Manager in the cluster instead (External Secrets,
# Secrets Store CSI), under the same name and keys.
resource "kubernetes_secret_v1" "meridian" {
  count = var.create_app_env ? 1 : 0

  metadata {
    name      = local.secret_name
    namespace = module.meridian.namespace
    labels    = local.labels
  }

  data = {
    MERIDIAN_AUTH_JWT_SECRET              = random_password.jwt.result
    MERIDIAN_STORAGE_URL                  = local.db_url
    MERIDIAN_OBJECTS_ACCESS_KEY_ID        = google_storage_hmac_key.meridian.access_id
    MERIDIAN_OBJECTS_SECRET_ACCESS_KEY    = google_storage_hmac_key.meridian.secret
    MERIDIAN_KAFKA_PROPERTY_SASL_PASSWORD = google_service_account_key.meridian_kafka.private_key
  }
}

module "meridian" {
  source = "../modules/k8s-app"

  namespace   = var.namespace
  image       = var.image
  settings    = local.settings
  secret_name = local.secret_name
  labels      = local.labels

  service_account_annotations = {
    "iam.gke.io/gcp-service-account" = google_service_account.meridian.email
  }

  ingress_host  = var.ingress_host
  ingress_class = var.ingress_class

  depends_on = [google_container_node_pool.default, google_managed_kafka_topic.meridian, google_sql_user.meridian]
}
