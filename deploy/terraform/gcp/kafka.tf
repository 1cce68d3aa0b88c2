# Google Cloud Managed Service for Apache Kafka: brokers reachable from the subnet only, TLS always, SASL on 9092.
resource "google_managed_kafka_cluster" "meridian" {
  cluster_id = var.name
  location   = var.region
  labels     = local.labels

  capacity_config {
    vcpu_count   = var.kafka_vcpu_count
    memory_bytes = var.kafka_memory_gib * 1024 * 1024 * 1024
  }

  gcp_config {
    access_config {
      network_configs {
        subnet = google_compute_subnetwork.meridian.id
      }
    }
  }

  rebalance_config {
    mode = "AUTO_REBALANCE_ON_SCALE_UP"
  }
}

resource "google_managed_kafka_topic" "meridian" {
  for_each = toset(local.topics)

  topic_id           = "${var.topic_prefix}${each.value}"
  cluster            = google_managed_kafka_cluster.meridian.cluster_id
  location           = var.region
  partition_count    = var.topic_partitions
  replication_factor = 3

  configs = {
    "cleanup.policy"      = "delete"
    "retention.ms"        = tostring(var.topic_retention_ms)
    "min.insync.replicas" = "2"
  }
}

locals {
  # The bootstrap address Google documents for a cluster; SASL listens on 9092.
  kafka_bootstrap = "bootstrap.${google_managed_kafka_cluster.meridian.cluster_id}.${var.region}.managedkafka.${var.project_id}.cloud.goog:9092"
}
