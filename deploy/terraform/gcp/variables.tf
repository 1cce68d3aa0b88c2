variable "project_id" {
  description = "The Google Cloud project that holds every resource."
  type        = string
}

variable "region" {
  description = "Region of the cluster, the database, the buckets, Kafka and Dataproc (for example europe-west1)."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "meridian"
}

variable "labels" {
  description = "Extra labels put on every resource (and on the Kubernetes objects)."
  type        = map(string)
  default     = {}
}

# Network

variable "subnet_cidr" {
  description = "Primary range of the subnet: nodes, Dataproc and the Kafka cluster's addresses."
  type        = string
  default     = "10.10.0.0/20"
}

variable "pods_cidr" {
  description = "Secondary range of the subnet for the pods (Dataplane V2, VPC-native)."
  type        = string
  default     = "10.20.0.0/14"
}

variable "services_cidr" {
  description = "Secondary range of the subnet for the Kubernetes services."
  type        = string
  default     = "10.24.0.0/20"
}

variable "master_cidr" {
  description = "The /28 the GKE control plane uses (private cluster)."
  type        = string
  default     = "172.16.0.0/28"
}

variable "master_authorized_networks" {
  description = "CIDR ranges allowed to reach the control plane (where Terraform and kubectl run). Empty: only the VPC."
  type        = map(string)
  default     = {}
}

variable "enable_private_endpoint" {
  description = "Give the control plane no public endpoint at all; Terraform must then run inside the VPC (or through a bastion)."
  type        = bool
  default     = false
}

# GKE

variable "release_channel" {
  description = "GKE release channel: RAPID, REGULAR or STABLE."
  type        = string
  default     = "REGULAR"
}

variable "node_machine_type" {
  description = "Machine type of the node pool."
  type        = string
  default     = "e2-standard-4"
}

variable "node_min_count" {
  description = "Fewest nodes per zone in the autoscaled node pool."
  type        = number
  default     = 1
}

variable "node_max_count" {
  description = "Most nodes per zone in the autoscaled node pool."
  type        = number
  default     = 5
}

# Database

variable "db_tier" {
  description = "Cloud SQL machine tier (for example db-custom-2-7680)."
  type        = string
  default     = "db-custom-2-7680"
}

variable "db_high_availability" {
  description = "REGIONAL (a standby in another zone) when true, ZONAL otherwise."
  type        = bool
  default     = true
}

variable "db_max_connections" {
  description = "PostgreSQL max_connections; keep the sum of every process's MERIDIAN_STORAGE_MAX_CONNECTIONS under it."
  type        = number
  default     = 400
}

# Kafka

variable "kafka_vcpu_count" {
  description = "vCPUs of the Managed Service for Apache Kafka cluster (3 at least)."
  type        = number
  default     = 3
}

variable "kafka_memory_gib" {
  description = "Memory of the Kafka cluster in GiB (1 to 8 per vCPU)."
  type        = number
  default     = 12
}

variable "topic_prefix" {
  description = "MERIDIAN_TOPICS_PREFIX: put in front of every topic name (for example prod.); empty for none."
  type        = string
  default     = ""
}

variable "topic_partitions" {
  description = "Partitions of each topic (MERIDIAN_TOPICS_PARTITIONS)."
  type        = number
  default     = 6
}

variable "topic_retention_ms" {
  description = "retention.ms of each topic; the analytics jobs can only be recounted over what is retained."
  type        = number
  default     = 604800000
}

# Objects

variable "cors_origins" {
  description = "Origins allowed to PUT uploads straight to the bucket with presigned URLs (the shop's origin)."
  type        = list(string)
  default     = []
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept before the lifecycle rule deletes it."
  type        = number
  default     = 30
}

# Dataproc / Flink

variable "enable_dataproc" {
  description = "Create the Dataproc cluster with the Flink component for the analytics twin jobs (deploy/flink)."
  type        = bool
  default     = true
}

variable "dataproc_image_version" {
  description = "Dataproc image; it decides the Flink version the connector jars and the SQL runner must match."
  type        = string
  default     = "2.2-debian12"
}

variable "dataproc_machine_type" {
  description = "Machine type of the Dataproc master and workers."
  type        = string
  default     = "n2-standard-4"
}

variable "dataproc_workers" {
  description = "Number of Dataproc primary workers."
  type        = number
  default     = 2
}

# Application

variable "image" {
  description = "Meridian's container image pinned by digest: REGION-docker.pkg.dev/PROJECT/REPO/meridian@sha256:..."
  type        = string

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "Pin the image by digest (repository@sha256:...)."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of Meridian."
  type        = string
  default     = "meridian"
}

variable "create_app_env" {
  description = "Create the Kubernetes Secret meridian-secrets from the generated values (they are in Terraform's state either way); false when External Secrets or the Secrets Store CSI driver syncs it from Secret Manager."
  type        = bool
  default     = true
}

variable "ingress_host" {
  description = "Host name of the public API (the gateway role)."
  type        = string
}

variable "ingress_class" {
  description = "Ingress class of the gateway's Ingress (gce: the Google external Application Load Balancer)."
  type        = string
  default     = "gce"
}

variable "trusted_proxies" {
  description = "MERIDIAN_HTTP_TRUSTED_PROXIES: Google's load balancer front ends (the ranges its proxies connect from)."
  type        = list(string)
  default     = ["130.211.0.0/22", "35.191.0.0/16"]
}

variable "settings" {
  description = "Extra MERIDIAN_* settings for the ConfigMap (docs/configuration.md); they win over the computed ones."
  type        = map(string)
  default     = {}
}
