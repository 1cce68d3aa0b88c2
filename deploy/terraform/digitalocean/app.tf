resource "random_password" "jwt" {
  length  = 48
  special = false
}

locals {
  kafka_brokers = "${digitalocean_database_cluster.kafka.private_host}:${digitalocean_database_cluster.kafka.port}"

  settings = merge({
    MERIDIAN_EVENT_LOG                        = "kafka"
    MERIDIAN_KAFKA_BROKERS                    = local.kafka_brokers
    MERIDIAN_KAFKA_PROPERTY_SECURITY_PROTOCOL = "SASL_SSL"
    MERIDIAN_KAFKA_PROPERTY_SASL_MECHANISM    = var.kafka_sasl_mechanism
    # The managed cluster's certificate is signed by DigitalOcean's per-cluster CA (public, not a secret).
    MERIDIAN_KAFKA_PROPERTY_SSL_CA_PEM = data.digitalocean_database_ca.kafka.certificate
    MERIDIAN_KAFKA_REPLICATION_FACTOR  = "3"
    MERIDIAN_TOPICS_PREFIX             = var.topic_prefix
    MERIDIAN_TOPICS_PARTITIONS         = tostring(var.topic_partitions)
    MERIDIAN_STORAGE_MAX_CONNECTIONS   = tostring(var.storage_max_connections)
    MERIDIAN_OBJECTS_URL               = "s3://${digitalocean_spaces_bucket.objects.name}?endpoint=https://${var.region}.digitaloceanspaces.com&region=${var.region}"
    MERIDIAN_HTTP_TRUSTED_PROXIES      = var.pod_subnet
    MERIDIAN_GATEWAY_CORS_ORIGIN       = var.upload_origins[0]
  }, var.extra_settings)
}

module "app" {
  source = "../modules/k8s-app"

  namespace     = var.namespace
  image         = var.image
  settings      = local.settings
  secret_name   = kubernetes_secret_v1.meridian.metadata[0].name
  ingress_host  = var.ingress_host
  ingress_class = var.ingress_class
  labels        = { "app.kubernetes.io/instance" = var.name }
}

# The sensitive MERIDIAN_* variables. Their sources (database and Kafka users, the Spaces key) are in the state
# already, which lives in a private, versioned bucket.
resource "kubernetes_secret_v1" "meridian" {
  metadata {
    name      = "meridian"
    namespace = module.app.namespace
  }

  data = {
    MERIDIAN_STORAGE_URL = format("postgres://%s:%s@%s:%d/%s?sslmode=require",
      digitalocean_database_user.meridian.name, urlencode(digitalocean_database_user.meridian.password),
      digitalocean_database_cluster.postgres.private_host, digitalocean_database_cluster.postgres.port,
    digitalocean_database_db.meridian.name)
    MERIDIAN_KAFKA_PROPERTY_SASL_USERNAME = digitalocean_database_user.kafka.name
    MERIDIAN_KAFKA_PROPERTY_SASL_PASSWORD = digitalocean_database_user.kafka.password
    MERIDIAN_OBJECTS_ACCESS_KEY_ID        = digitalocean_spaces_key.meridian.access_key
    MERIDIAN_OBJECTS_SECRET_ACCESS_KEY    = digitalocean_spaces_key.meridian.secret_key
    MERIDIAN_AUTH_JWT_SECRET              = random_password.jwt.result
  }
}
