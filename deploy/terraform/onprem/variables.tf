variable "cluster_name" {
  description = "Name of the Talos/Kubernetes cluster."
  type        = string
  default     = "meridian"
}

variable "cluster_endpoint" {
  description = "Kubernetes API URL the nodes and clients use: https://<control_plane_vip or a load balancer>:6443."
  type        = string
}

variable "control_plane_vip" {
  description = "Shared virtual IP the control plane nodes announce (Talos VIP, layer 2); null when a load balancer fronts them."
  type        = string
  default     = null
}

variable "control_plane_nodes" {
  description = "Control plane nodes: host name => IP address (booted from the Talos ISO, in maintenance mode). 1 or 3 (or 5)."
  type        = map(string)

  validation {
    condition     = contains([1, 3, 5], length(var.control_plane_nodes))
    error_message = "Use 1, 3 or 5 control plane nodes (etcd quorum)."
  }
}

variable "worker_nodes" {
  description = "Worker nodes: host name => IP address."
  type        = map(string)
  default     = {}
}

variable "node_subnet" {
  description = "Network of the nodes' addresses: kubelet and etcd advertise from it only."
  type        = string
}

variable "install_disk" {
  description = "Disk Talos installs itself on, on every node."
  type        = string
  default     = "/dev/sda"
}

variable "talos_version" {
  description = "Talos version to install (installer image tag) and the machine configuration contract."
  type        = string
  default     = "v1.13.0"
}

variable "kubernetes_version" {
  description = "Kubernetes version of the new cluster; null for the default of talos_version."
  type        = string
  default     = null
}

variable "cni" {
  description = "CNI Talos deploys: flannel, or none to bring one (Cilium) yourself before the platform charts."
  type        = string
  default     = "flannel"

  validation {
    condition     = contains(["flannel", "none"], var.cni)
    error_message = "cni is flannel or none."
  }
}

variable "pod_subnet" {
  description = "Pod network of the cluster; also MERIDIAN_HTTP_TRUSTED_PROXIES (the ingress controller runs in it)."
  type        = string
  default     = "10.244.0.0/16"
}

variable "service_subnet" {
  description = "Service network of the cluster."
  type        = string
  default     = "10.96.0.0/12"
}

variable "storage_class" {
  description = "StorageClass of the Kafka, PostgreSQL and MinIO volumes (a CSI driver that is installed: local-path, Longhorn, Rook-Ceph...)."
  type        = string
  default     = "local-path"
}

variable "strimzi_chart_version" {
  description = "Version of the strimzi-kafka-operator chart."
  type        = string
  default     = "0.47.0"
}

variable "kafka_version" {
  description = "Kafka version the Strimzi operator runs (one its release supports)."
  type        = string
  default     = "4.0.0"
}

variable "kafka_replicas" {
  description = "Kafka nodes (each broker and KRaft controller)."
  type        = number
  default     = 3
}

variable "kafka_volume_size" {
  description = "Volume of each Kafka node."
  type        = string
  default     = "100Gi"
}

variable "cnpg_chart_version" {
  description = "Version of the cloudnative-pg (operator) chart."
  type        = string
  default     = "0.26.0"
}

variable "postgres_image" {
  description = "PostgreSQL image of the CloudNativePG cluster (15 or later)."
  type        = string
  default     = "ghcr.io/cloudnative-pg/postgresql:17.5"
}

variable "postgres_instances" {
  description = "PostgreSQL instances (1 primary, the rest streaming replicas)."
  type        = number
  default     = 3
}

variable "postgres_volume_size" {
  description = "Volume of each PostgreSQL instance."
  type        = string
  default     = "50Gi"
}

variable "storage_max_connections" {
  description = "MERIDIAN_STORAGE_MAX_CONNECTIONS of each pod: keep pods x this under PostgreSQL's max_connections."
  type        = number
  default     = 4
}

variable "minio_chart_version" {
  description = "Version of the MinIO operator and tenant charts."
  type        = string
  default     = "7.1.1"
}

variable "minio_servers" {
  description = "MinIO servers in the tenant's pool (4 or more for erasure coding across servers)."
  type        = number
  default     = 4
}

variable "minio_volume_size" {
  description = "Volume of each MinIO server."
  type        = string
  default     = "100Gi"
}

variable "topic_prefix" {
  description = "MERIDIAN_TOPICS_PREFIX: put in front of every topic name; empty for none."
  type        = string
  default     = ""
}

variable "image" {
  description = "Meridian image pinned by digest (repo@sha256:...), from a registry the nodes can pull from."
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
  description = "Public host name of the gateway."
  type        = string
}

variable "ingress_class" {
  description = "Ingress class of the controller in front of the gateway (installed separately)."
  type        = string
  default     = "nginx"
}

variable "extra_settings" {
  description = "More MERIDIAN_* settings (non-secret) for every role; they win over the ones set here."
  type        = map(string)
  default     = {}
}
