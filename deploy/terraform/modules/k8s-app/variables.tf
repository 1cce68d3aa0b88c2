variable "namespace" {
  description = "Namespace the module creates and puts every object in."
  type        = string
  default     = "meridian"
}

variable "image" {
  description = "The Meridian image, pinned by digest (`registry/meridian@sha256:...`); a tag alone is refused."
  type        = string

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "image must be pinned by digest: <repository>@sha256:<64 hex digits>."
  }
}

variable "roles" {
  description = "One Deployment per role (`meridian serve --role <key>`): replicas (ignored when autoscale), HPA bounds, requests and limits, whether an HPA scales it on CPU, and whether the Ingress routes the role's public paths to it."
  type = map(object({
    replicas       = number
    min_replicas   = number
    max_replicas   = number
    cpu_request    = string
    memory_request = string
    cpu_limit      = string
    memory_limit   = string
    autoscale      = bool
    expose         = bool
  }))
  default = {
    gateway       = { replicas = 2, min_replicas = 2, max_replicas = 10, cpu_request = "250m", memory_request = "128Mi", cpu_limit = "1", memory_limit = "256Mi", autoscale = true, expose = true }
    ingestor      = { replicas = 2, min_replicas = 2, max_replicas = 10, cpu_request = "500m", memory_request = "256Mi", cpu_limit = "2", memory_limit = "512Mi", autoscale = true, expose = false }
    users         = { replicas = 2, min_replicas = 2, max_replicas = 6, cpu_request = "250m", memory_request = "128Mi", cpu_limit = "1", memory_limit = "256Mi", autoscale = true, expose = false }
    products      = { replicas = 2, min_replicas = 2, max_replicas = 6, cpu_request = "250m", memory_request = "128Mi", cpu_limit = "1", memory_limit = "256Mi", autoscale = true, expose = false }
    carts         = { replicas = 2, min_replicas = 2, max_replicas = 6, cpu_request = "250m", memory_request = "128Mi", cpu_limit = "1", memory_limit = "256Mi", autoscale = true, expose = false }
    orders        = { replicas = 2, min_replicas = 2, max_replicas = 6, cpu_request = "250m", memory_request = "128Mi", cpu_limit = "1", memory_limit = "256Mi", autoscale = true, expose = false }
    payments      = { replicas = 2, min_replicas = 2, max_replicas = 6, cpu_request = "250m", memory_request = "128Mi", cpu_limit = "1", memory_limit = "256Mi", autoscale = true, expose = false }
    notifications = { replicas = 2, min_replicas = 2, max_replicas = 4, cpu_request = "100m", memory_request = "128Mi", cpu_limit = "500m", memory_limit = "256Mi", autoscale = false, expose = false }
    images        = { replicas = 2, min_replicas = 2, max_replicas = 8, cpu_request = "500m", memory_request = "256Mi", cpu_limit = "2", memory_limit = "512Mi", autoscale = true, expose = false }
    "ingest-jobs" = { replicas = 2, min_replicas = 2, max_replicas = 4, cpu_request = "250m", memory_request = "256Mi", cpu_limit = "1", memory_limit = "512Mi", autoscale = false, expose = false }
    analytics     = { replicas = 2, min_replicas = 2, max_replicas = 2, cpu_request = "500m", memory_request = "256Mi", cpu_limit = "2", memory_limit = "512Mi", autoscale = false, expose = false }
  }

  validation {
    condition     = alltrue([for name in keys(var.roles) : contains(["gateway", "ingestor", "users", "products", "carts", "orders", "payments", "notifications", "images", "ingest-jobs", "analytics"], name)])
    error_message = "roles: each key must be a role `meridian serve --role` knows (gateway, ingestor, users, products, carts, orders, payments, notifications, images, ingest-jobs, analytics)."
  }

  validation {
    condition     = alltrue([for role in values(var.roles) : role.min_replicas >= 1 && role.min_replicas <= role.max_replicas && role.replicas >= 1])
    error_message = "roles: need 1 <= min_replicas <= max_replicas and replicas >= 1."
  }

  validation {
    condition     = !lookup(lookup(var.roles, "images", { expose = false }), "expose", false)
    error_message = "roles: images has no public API to expose."
  }
  nullable = false
}

variable "settings" {
  description = "MERIDIAN_* settings (docs/configuration.md) for every role, in a ConfigMap. No secret here: they go in the Secret named by secret_name. The module sets MERIDIAN_DATA_DIR, MERIDIAN_LOG_FORMAT and the split-mode MERIDIAN_SERVICES_<ROLE>_URL; an entry here overrides them."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.settings) : can(regex("^MERIDIAN_[A-Z0-9_]+$", key))])
    error_message = "settings: every key is a MERIDIAN_* environment variable."
  }

  validation {
    condition = alltrue([
      for key, value in var.settings :
      !can(regex("(SECRET|PASSWORD|API_KEYS|WEBHOOK_URL|ACCESS_KEY_ID)", key)) && !can(regex("://[^/@]+:[^/@]+@", value))
    ])
    error_message = "settings: secrets (JWT secret, passwords, keys, URLs with credentials) belong in the Secret named by secret_name, not in a ConfigMap."
  }
}

variable "secret_name" {
  description = "Name of an existing Secret in the namespace whose keys are MERIDIAN_* variables holding secrets (MERIDIAN_AUTH_JWT_SECRET, MERIDIAN_STORAGE_URL with its password, MERIDIAN_KAFKA_PROPERTY_SASL_PASSWORD, ...). Created outside Terraform (External Secrets, Secrets Store CSI, kubectl) so no value lands in the state."
  type        = string
}

variable "service_account_annotations" {
  description = "Annotations of the pods' ServiceAccount: eks.amazonaws.com/role-arn (IRSA), iam.gke.io/gcp-service-account, azure.workload.identity/client-id."
  type        = map(string)
  default     = {}
}

variable "ingress_host" {
  description = "Host name the Ingress answers for (the shop's public name, or the origin name a CDN or Cloudflare load balancer uses)."
  type        = string
}

variable "ingress_class" {
  description = "IngressClass of the controller that serves the Ingress (alb, nginx, gce, ...)."
  type        = string
  default     = "nginx"
}

variable "ingress_annotations" {
  description = "Controller-specific annotations of the Ingress (for the AWS Load Balancer Controller: scheme, target type, certificate ARN, SSL policy)."
  type        = map(string)
  default     = {}
}

variable "labels" {
  description = "Labels added to every object and pod (team, environment, cost centre)."
  type        = map(string)
  default     = {}
}
