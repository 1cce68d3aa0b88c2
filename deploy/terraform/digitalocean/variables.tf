variable "name" {
  description = "Name prefix of every resource (cluster, databases, bucket, registry)."
  type        = string
  default     = "meridian"
}

variable "region" {
  description = "DigitalOcean region slug for everything (a Spaces region too, e.g. fra1, ams3, nyc3, sgp1)."
  type        = string
  default     = "fra1"
}

variable "vpc_ip_range" {
  description = "Private range of the VPC (RFC 1918, /16 to /24). Must not overlap the on-premises networks joined over WireGuard."
  type        = string
  default     = "10.110.0.0/20"
}

variable "kubernetes_version_prefix" {
  description = "DOKS minor version to run (its latest patch is used; auto-upgrade keeps it patched)."
  type        = string
  default     = "1.33."
}

variable "ha_control_plane" {
  description = "Highly available DOKS control plane (cannot be turned off once on)."
  type        = bool
  default     = true
}

variable "node_size" {
  description = "Droplet size of the worker nodes."
  type        = string
  default     = "s-4vcpu-8gb"
}

variable "node_min" {
  description = "Fewest worker nodes (autoscaling)."
  type        = number
  default     = 2
}

variable "node_max" {
  description = "Most worker nodes (autoscaling)."
  type        = number
  default     = 6
}

variable "maintenance_day" {
  description = "Day of the DOKS maintenance window (monday..sunday, or any)."
  type        = string
  default     = "sunday"
}

variable "maintenance_start_time" {
  description = "Start of the DOKS maintenance window, UTC, HH:MM."
  type        = string
  default     = "03:00"
}

variable "control_plane_allowed_addresses" {
  description = "CIDRs allowed to reach the Kubernetes API (operators, CI). Empty: the control plane firewall stays off."
  type        = list(string)
  default     = []
}

variable "registry_tier" {
  description = "Container Registry subscription tier: starter, basic or professional."
  type        = string
  default     = "basic"
}

variable "postgres_version" {
  description = "PostgreSQL major version of the managed database (15 or later)."
  type        = string
  default     = "17"

  validation {
    condition     = tonumber(var.postgres_version) >= 15
    error_message = "Meridian needs PostgreSQL 15 or later."
  }
}

variable "postgres_size" {
  description = "Size slug of the PostgreSQL nodes."
  type        = string
  default     = "db-s-2vcpu-4gb"
}

variable "postgres_nodes" {
  description = "PostgreSQL nodes: 1 primary, plus standbys (2 or 3 for failover)."
  type        = number
  default     = 2
}

variable "storage_max_connections" {
  description = "MERIDIAN_STORAGE_MAX_CONNECTIONS of each pod: keep pods x this under the database's connection limit."
  type        = number
  default     = 4
}

variable "kafka_version" {
  description = "Kafka version of the managed cluster (doctl databases options versions lists them)."
  type        = string
  default     = "3.7"
}

variable "kafka_size" {
  description = "Size slug of the Kafka nodes (a Kafka cluster always has 3)."
  type        = string
  default     = "db-s-2vcpu-4gb"
}

variable "kafka_sasl_mechanism" {
  description = "SASL mechanism of the managed Kafka's SASL_SSL listener."
  type        = string
  default     = "SCRAM-SHA-256"
}

variable "topic_prefix" {
  description = "MERIDIAN_TOPICS_PREFIX: put in front of every topic name (e.g. \"prod.\"); empty for none."
  type        = string
  default     = ""
}

variable "topic_partitions" {
  description = "Partitions of each Meridian topic."
  type        = number
  default     = 6
}

variable "spaces_access_id" {
  description = "Spaces access key the provider manages the bucket with (S3 API). Not the key the app uses: that one is created here."
  type        = string
  sensitive   = true
}

variable "spaces_secret_key" {
  description = "Secret of spaces_access_id."
  type        = string
  sensitive   = true
}

variable "upload_origins" {
  description = "Origins browsers upload from with presigned PUT URLs (the shop's), for the bucket's CORS rules."
  type        = list(string)
}

variable "noncurrent_version_days" {
  description = "Days an overwritten or deleted object version is kept in the bucket."
  type        = number
  default     = 30
}

variable "image" {
  description = "Meridian image pinned by digest: registry.digitalocean.com/REGISTRY/meridian@sha256:..."
  type        = string

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "Pin the image by digest (repo@sha256:<64 hex>)."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of the Meridian roles."
  type        = string
  default     = "meridian"
}

variable "ingress_host" {
  description = "Public host name of the gateway (the ingress rule)."
  type        = string
}

variable "ingress_class" {
  description = "Ingress class of the controller in front of the gateway."
  type        = string
  default     = "nginx"
}

variable "pod_subnet" {
  description = "DOKS pod network (VPC-native). Also MERIDIAN_HTTP_TRUSTED_PROXIES: the ingress controller runs in it."
  type        = string
  default     = "10.244.0.0/16"
}

variable "service_subnet" {
  description = "DOKS service network (VPC-native)."
  type        = string
  default     = "10.245.0.0/16"
}

variable "extra_settings" {
  description = "More MERIDIAN_* settings (non-secret) for every role; they win over the ones set here."
  type        = map(string)
  default     = {}
}
