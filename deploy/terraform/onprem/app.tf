resource "random_password" "jwt" {
  length  = 48
  special = false
}

locals {
  settings = merge({
    MERIDIAN_EVENT_LOG                        = "kafka"
    MERIDIAN_KAFKA_BROKERS                    = local.kafka_brokers
    MERIDIAN_KAFKA_PROPERTY_SECURITY_PROTOCOL = "SASL_SSL"
    MERIDIAN_KAFKA_PROPERTY_SASL_MECHANISM    = "SCRAM-SHA-512"
    MERIDIAN_KAFKA_PROPERTY_SSL_CA_PEM        = tls_self_signed_cert.kafka_ca.cert_pem
    MERIDIAN_KAFKA_REPLICATION_FACTOR         = "3"
    MERIDIAN_TOPICS_PREFIX                    = var.topic_prefix
    MERIDIAN_STORAGE_MAX_CONNECTIONS          = tostring(var.storage_max_connections)
    MERIDIAN_OBJECTS_URL                      = "s3://${local.minio_bucket}?endpoint=http://minio.${local.minio_namespace}.svc.cluster.local&pathStyle=true&region=us-east-1"
    MERIDIAN_HTTP_TRUSTED_PROXIES             = var.pod_subnet
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
  labels        = { "app.kubernetes.io/instance" = var.cluster_name }

  depends_on = [kubernetes_manifest.kafka_user, kubernetes_manifest.kafka_topic, kubernetes_manifest.postgres, helm_release.minio_tenant]
}

resource "kubernetes_secret_v1" "meridian" {
  metadata {
    name      = "meridian"
    namespace = module.app.namespace
  }

  data = {
    # In-cluster and unencrypted: Meridian's sslmode=require verifies against the system roots only, which do not
    # hold CloudNativePG's CA (see README).
    MERIDIAN_STORAGE_URL                  = "postgres://meridian:${random_password.postgres.result}@${local.postgres_host}:5432/meridian?sslmode=disable"
    MERIDIAN_KAFKA_PROPERTY_SASL_USERNAME = "meridian"
    MERIDIAN_KAFKA_PROPERTY_SASL_PASSWORD = random_password.kafka.result
    MERIDIAN_OBJECTS_ACCESS_KEY_ID        = "meridian"
    MERIDIAN_OBJECTS_SECRET_ACCESS_KEY    = random_password.minio_user.result
    MERIDIAN_AUTH_JWT_SECRET              = random_password.jwt.result
  }
}
