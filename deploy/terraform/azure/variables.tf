variable "subscription_id" {
  description = "Azure subscription that holds every resource."
  type        = string
}

variable "location" {
  description = "Azure region (for example westeurope)."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name (letters and digits; globally unique names get a suffix)."
  type        = string
  default     = "meridian"
}

variable "tags" {
  description = "Extra tags put on every resource (and labels on the Kubernetes objects)."
  type        = map(string)
  default     = {}
}

# Network

variable "vnet_cidr" {
  description = "Address space of the virtual network."
  type        = string
  default     = "10.30.0.0/16"
}

variable "aks_subnet_cidr" {
  description = "Subnet of the AKS nodes and pods (Azure CNI gives every pod an address here)."
  type        = string
  default     = "10.30.0.0/18"
}

variable "postgres_subnet_cidr" {
  description = "Subnet delegated to PostgreSQL Flexible Server."
  type        = string
  default     = "10.30.64.0/24"
}

variable "endpoints_subnet_cidr" {
  description = "Subnet of the private endpoints (ACR)."
  type        = string
  default     = "10.30.65.0/24"
}

variable "admin_ip_ranges" {
  description = "Public CIDR ranges of the operators and of the machine running Terraform: the AKS API server, Key Vault and ACR accept them."
  type        = list(string)
}

# AKS

variable "kubernetes_version" {
  description = "AKS Kubernetes version (null: the default of the region); patches follow the automatic upgrade channel."
  type        = string
  default     = null
}

variable "node_vm_size" {
  description = "VM size of the node pool (needs a cache or temp disk of 100 GB or more for ephemeral OS disks)."
  type        = string
  default     = "Standard_D4ds_v5"
}

variable "node_min_count" {
  description = "Fewest nodes of the autoscaled pool."
  type        = number
  default     = 3
}

variable "node_max_count" {
  description = "Most nodes of the autoscaled pool."
  type        = number
  default     = 10
}

variable "admin_group_object_ids" {
  description = "Entra ID groups given cluster admin (Azure RBAC for Kubernetes)."
  type        = list(string)
  default     = []
}

# Event Hubs

variable "eventhubs_sku" {
  description = "Event Hubs tier: Standard or Premium (both have the Kafka endpoint on 9093; Basic does not)."
  type        = string
  default     = "Standard"

  validation {
    condition     = contains(["Standard", "Premium"], var.eventhubs_sku)
    error_message = "Standard or Premium: Basic has no Kafka endpoint."
  }
}

variable "eventhubs_capacity" {
  description = "Throughput units (Standard) or processing units (Premium)."
  type        = number
  default     = 2
}

variable "topic_partitions" {
  description = "Partitions of each event hub (fixed at creation on Standard)."
  type        = number
  default     = 6
}

variable "topic_retention_days" {
  description = "Message retention of each event hub in days (Standard: 1 to 7)."
  type        = number
  default     = 7
}

# PostgreSQL

variable "postgres_sku" {
  description = "PostgreSQL Flexible Server SKU."
  type        = string
  default     = "GP_Standard_D2ds_v5"
}

variable "postgres_storage_mb" {
  description = "Storage of the PostgreSQL server in MB."
  type        = number
  default     = 65536
}

variable "postgres_high_availability" {
  description = "Run a zone-redundant standby of the PostgreSQL server."
  type        = bool
  default     = true
}

# Objects (MinIO)

variable "minio_image" {
  description = "MinIO server image pinned by digest (quay.io/minio/minio@sha256:...). Azure Blob Storage has no S3 API, so Meridian's objects live in MinIO in the cluster."
  type        = string

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.minio_image))
    error_message = "Pin the image by digest (repository@sha256:...)."
  }
}

variable "minio_client_image" {
  description = "MinIO client (mc) image pinned by digest, for the job that creates the bucket."
  type        = string

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.minio_client_image))
    error_message = "Pin the image by digest (repository@sha256:...)."
  }
}

variable "minio_storage_size" {
  description = "Size of MinIO's persistent volume (Azure managed disk, premium, zone-redundant storage class)."
  type        = string
  default     = "256Gi"
}

# Application

variable "image" {
  description = "Meridian's container image pinned by digest: NAME.azurecr.io/meridian@sha256:..."
  type        = string

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "Pin the image by digest (repository@sha256:...)."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of Meridian (and of MinIO)."
  type        = string
  default     = "meridian"
}

variable "ingress_host" {
  description = "Host name of the public API (the gateway role)."
  type        = string
}

variable "ingress_class" {
  description = "Ingress class of the gateway's Ingress (webapprouting.kubernetes.azure.com: AKS's managed NGINX)."
  type        = string
  default     = "webapprouting.kubernetes.azure.com"
}

variable "topic_prefix" {
  description = "MERIDIAN_TOPICS_PREFIX: put in front of every event hub name (for example prod.); empty for none."
  type        = string
  default     = ""
}

variable "settings" {
  description = "Extra MERIDIAN_* settings for the ConfigMap (docs/configuration.md); they win over the computed ones."
  type        = map(string)
  default     = {}
}
