locals {
  topics = [
    "events", "events-dlq", "orders",
    "payment.requested", "payment.succeeded", "payment.failed", "payment.refunded",
    "product.deleted", "product-images.uploaded", "product-images.processed", "analytics-results",
  ]
  tags = [var.name]
}

resource "digitalocean_vpc" "this" {
  name     = "${var.name}-${var.region}"
  region   = var.region
  ip_range = var.vpc_ip_range
}

# ---------------------------------------------------------------- Kubernetes and registry

resource "digitalocean_container_registry" "this" {
  name                   = var.name
  subscription_tier_slug = var.registry_tier
  region                 = var.region
}

data "digitalocean_kubernetes_versions" "this" {
  version_prefix = var.kubernetes_version_prefix
}

resource "digitalocean_kubernetes_cluster" "this" {
  name           = var.name
  region         = var.region
  version        = data.digitalocean_kubernetes_versions.this.latest_version
  vpc_uuid       = digitalocean_vpc.this.id
  cluster_subnet = var.pod_subnet
  service_subnet = var.service_subnet
  ha             = var.ha_control_plane
  auto_upgrade   = true
  surge_upgrade  = true
  tags           = local.tags

  # Pods pull from the registry with the secret DOKS puts into every namespace's default service account.
  registry_integration = true

  maintenance_policy {
    day        = var.maintenance_day
    start_time = var.maintenance_start_time
  }

  dynamic "control_plane_firewall" {
    for_each = length(var.control_plane_allowed_addresses) > 0 ? [1] : []
    content {
      enabled           = true
      allowed_addresses = var.control_plane_allowed_addresses
    }
  }

  node_pool {
    name       = "${var.name}-workers"
    size       = var.node_size
    auto_scale = true
    min_nodes  = var.node_min
    max_nodes  = var.node_max
    tags       = local.tags
  }

  depends_on = [digitalocean_container_registry.this]

  lifecycle {
    # auto_upgrade moves the patch version; only a new prefix should change it here.
    ignore_changes = [version]
  }
}

# ---------------------------------------------------------------- PostgreSQL

resource "digitalocean_database_cluster" "postgres" {
  name                 = "${var.name}-pg"
  engine               = "pg"
  version              = var.postgres_version
  size                 = var.postgres_size
  region               = var.region
  node_count           = var.postgres_nodes
  private_network_uuid = digitalocean_vpc.this.id
  tags                 = local.tags

  maintenance_window {
    day  = var.maintenance_day
    hour = var.maintenance_start_time
  }
}

resource "digitalocean_database_firewall" "postgres" {
  cluster_id = digitalocean_database_cluster.postgres.id

  rule {
    type  = "k8s"
    value = digitalocean_kubernetes_cluster.this.id
  }
}

resource "digitalocean_database_db" "meridian" {
  cluster_id = digitalocean_database_cluster.postgres.id
  name       = "meridian"
}

resource "digitalocean_database_user" "meridian" {
  cluster_id = digitalocean_database_cluster.postgres.id
  name       = "meridian"
}

data "digitalocean_database_ca" "postgres" {
  cluster_id = digitalocean_database_cluster.postgres.id
}

# ---------------------------------------------------------------- Kafka

resource "digitalocean_database_cluster" "kafka" {
  name                 = "${var.name}-kafka"
  engine               = "kafka"
  version              = var.kafka_version
  size                 = var.kafka_size
  region               = var.region
  node_count           = 3
  private_network_uuid = digitalocean_vpc.this.id
  tags                 = local.tags
}

resource "digitalocean_database_firewall" "kafka" {
  cluster_id = digitalocean_database_cluster.kafka.id

  rule {
    type  = "k8s"
    value = digitalocean_kubernetes_cluster.this.id
  }
}

resource "digitalocean_database_kafka_topic" "meridian" {
  for_each = toset(local.topics)

  cluster_id         = digitalocean_database_cluster.kafka.id
  name               = "${var.topic_prefix}${each.key}"
  partition_count    = var.topic_partitions
  replication_factor = 3

  config {
    cleanup_policy      = "delete"
    min_insync_replicas = 2
    # Meridian's producer compresses (kafka.compression, lz4 by default): keep its batches as they are.
    compression_type = "producer"
    retention_ms     = each.key == "events-dlq" ? 2592000000 : 604800000 # 30 days for the DLQ, 7 for the rest
  }
}

resource "digitalocean_database_user" "kafka" {
  cluster_id = digitalocean_database_cluster.kafka.id
  name       = "meridian"

  settings {
    dynamic "acl" {
      for_each = digitalocean_database_kafka_topic.meridian
      content {
        topic      = acl.value.name
        permission = "produceconsume"
      }
    }
  }
}

data "digitalocean_database_ca" "kafka" {
  cluster_id = digitalocean_database_cluster.kafka.id
}

# ---------------------------------------------------------------- Spaces

# One bucket, as objects.url names one: uploads/ (raw images, the image function's trigger), processed/ (variants),
# ingest/ and datasets/ (CSV), analytics/ (results).
resource "digitalocean_spaces_bucket" "objects" {
  name   = "${var.name}-objects-${var.region}"
  region = var.region
  acl    = "private"

  versioning {
    enabled = true
  }

  lifecycle_rule {
    id                                     = "versions-and-multipart"
    enabled                                = true
    abort_incomplete_multipart_upload_days = 1

    noncurrent_version_expiration {
      days = var.noncurrent_version_days
    }
  }

  lifecycle_rule {
    id      = "ingest-reports"
    prefix  = "ingest/reports/"
    enabled = true

    expiration {
      days = 90
    }
  }
}

# Browsers PUT images straight to the bucket with presigned URLs and read variants with presigned GETs.
resource "digitalocean_spaces_bucket_cors_configuration" "objects" {
  bucket = digitalocean_spaces_bucket.objects.id
  region = var.region

  cors_rule {
    allowed_origins = var.upload_origins
    allowed_methods = ["PUT", "GET", "HEAD"]
    allowed_headers = ["*"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3600
  }
}

# The app's own key, limited to its bucket.
resource "digitalocean_spaces_key" "meridian" {
  name = "${var.name}-app"

  grant {
    bucket     = digitalocean_spaces_bucket.objects.name
    permission = "readwrite"
  }
}
