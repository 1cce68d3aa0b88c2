# Kafka through the Strimzi operator: KRaft, one node pool of dual-role nodes, SCRAM over TLS, topics and the user as
# custom resources. The cluster CA is ours (generated here), so the roles get its certificate as a setting.

locals {
  kafka_namespace = "kafka"
  kafka_cluster   = "meridian"
  kafka_brokers   = "${local.kafka_cluster}-kafka-bootstrap.${local.kafka_namespace}.svc:9093"
  strimzi_labels  = { "strimzi.io/cluster" = local.kafka_cluster }

  topics = [
    "events", "events-dlq", "orders",
    "payment.requested", "payment.succeeded", "payment.failed", "payment.refunded",
    "product.deleted", "product-images.uploaded", "product-images.processed", "analytics-results",
  ]
}

resource "helm_release" "strimzi" {
  name             = "strimzi"
  repository       = "https://strimzi.io/charts/"
  chart            = "strimzi-kafka-operator"
  version          = var.strimzi_chart_version
  namespace        = local.kafka_namespace
  create_namespace = true

  depends_on = [data.talos_cluster_health.this]
}

resource "tls_private_key" "kafka_ca" {
  algorithm = "RSA"
  rsa_bits  = 4096
}

resource "tls_self_signed_cert" "kafka_ca" {
  private_key_pem       = tls_private_key.kafka_ca.private_key_pem
  is_ca_certificate     = true
  validity_period_hours = 87600
  allowed_uses          = ["cert_signing", "crl_signing"]

  subject {
    common_name  = "${local.kafka_cluster}-cluster-ca"
    organization = "Meridian"
  }
}

# Strimzi's user-provided cluster CA: two secrets named after the cluster, labelled and annotated as it expects.
resource "kubernetes_secret_v1" "kafka_ca_cert" {
  metadata {
    name        = "${local.kafka_cluster}-cluster-ca-cert"
    namespace   = helm_release.strimzi.namespace
    labels      = merge(local.strimzi_labels, { "strimzi.io/kind" = "Kafka" })
    annotations = { "strimzi.io/ca-cert-generation" = "0" }
  }
  data = { "ca.crt" = tls_self_signed_cert.kafka_ca.cert_pem }
}

resource "kubernetes_secret_v1" "kafka_ca_key" {
  metadata {
    name        = "${local.kafka_cluster}-cluster-ca"
    namespace   = helm_release.strimzi.namespace
    labels      = merge(local.strimzi_labels, { "strimzi.io/kind" = "Kafka" })
    annotations = { "strimzi.io/ca-key-generation" = "0" }
  }
  data = { "ca.key" = tls_private_key.kafka_ca.private_key_pem }
}

resource "kubernetes_manifest" "kafka_node_pool" {
  manifest = {
    apiVersion = "kafka.strimzi.io/v1beta2"
    kind       = "KafkaNodePool"
    metadata   = { name = "dual-role", namespace = helm_release.strimzi.namespace, labels = local.strimzi_labels }
    spec = {
      replicas = var.kafka_replicas
      roles    = ["controller", "broker"]
      storage = {
        type = "jbod"
        volumes = [{
          id          = 0, type = "persistent-claim", size = var.kafka_volume_size, class = var.storage_class
          deleteClaim = false, kraftMetadata = "shared"
        }]
      }
    }
  }
}

resource "kubernetes_manifest" "kafka" {
  manifest = {
    apiVersion = "kafka.strimzi.io/v1beta2"
    kind       = "Kafka"
    metadata = {
      name        = local.kafka_cluster
      namespace   = helm_release.strimzi.namespace
      annotations = { "strimzi.io/node-pools" = "enabled", "strimzi.io/kraft" = "enabled" }
    }
    spec = {
      kafka = {
        version = var.kafka_version
        listeners = [{
          name           = "tls", port = 9093, type = "internal", tls = true
          authentication = { type = "scram-sha-512" }
        }]
        authorization = { type = "simple" }
        config = {
          "default.replication.factor"               = 3
          "min.insync.replicas"                      = 2
          "offsets.topic.replication.factor"         = 3
          "transaction.state.log.replication.factor" = 3
          "transaction.state.log.min.isr"            = 2
          "auto.create.topics.enable"                = false
        }
      }
      clusterCa      = { generateCertificateAuthority = false }
      entityOperator = { topicOperator = {}, userOperator = {} }
    }
  }

  depends_on = [kubernetes_manifest.kafka_node_pool, kubernetes_secret_v1.kafka_ca_cert, kubernetes_secret_v1.kafka_ca_key]
}

resource "kubernetes_manifest" "kafka_topic" {
  for_each = toset(local.topics)

  manifest = {
    apiVersion = "kafka.strimzi.io/v1beta2"
    kind       = "KafkaTopic"
    metadata   = { name = replace("${var.topic_prefix}${each.key}", ".", "-"), namespace = helm_release.strimzi.namespace, labels = local.strimzi_labels }
    spec = {
      topicName  = "${var.topic_prefix}${each.key}"
      partitions = 6
      replicas   = 3
      config     = { "retention.ms" = each.key == "events-dlq" ? 2592000000 : 604800000 }
    }
  }

  depends_on = [kubernetes_manifest.kafka]
}

resource "random_password" "kafka" {
  length  = 32
  special = false
}

resource "kubernetes_secret_v1" "kafka_user" {
  metadata {
    name      = "meridian-kafka-password"
    namespace = helm_release.strimzi.namespace
  }
  data = { password = random_password.kafka.result }
}

# Meridian's user: its topics (and creating them, as the roles do at start), its consumer groups.
resource "kubernetes_manifest" "kafka_user" {
  manifest = {
    apiVersion = "kafka.strimzi.io/v1beta2"
    kind       = "KafkaUser"
    metadata   = { name = "meridian", namespace = helm_release.strimzi.namespace, labels = local.strimzi_labels }
    spec = {
      authentication = {
        type     = "scram-sha-512"
        password = { valueFrom = { secretKeyRef = { name = kubernetes_secret_v1.kafka_user.metadata[0].name, key = "password" } } }
      }
      authorization = {
        type = "simple"
        acls = [
          {
            resource   = var.topic_prefix == "" ? { type = "topic", name = "*", patternType = "literal" } : { type = "topic", name = var.topic_prefix, patternType = "prefix" }
            operations = ["Read", "Write", "Describe", "DescribeConfigs", "Create"]
          },
          {
            resource   = { type = "group", name = "*", patternType = "literal" }
            operations = ["Read", "Describe"]
          },
        ]
      }
    }
  }

  depends_on = [kubernetes_manifest.kafka]
}
