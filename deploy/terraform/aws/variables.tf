variable "region" {
  description = "AWS region of every resource."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Prefix of resource names (cluster, database, buckets, ...)."
  type        = string
  default     = "meridian"
}

variable "tags" {
  description = "Tags added to every resource, besides Application and ManagedBy."
  type        = map(string)
  default     = {}
}

variable "availability_zones" {
  description = "Availability zones of the subnets, the database standby and the Kafka brokers (one broker per zone), named explicitly so the set never changes when AWS adds a zone."
  type        = list(string)
  default     = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3
    error_message = "availability_zones: two or three zones."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; split into public, private and database subnets over the availability zones."
  type        = string
  default     = "10.40.0.0/16"
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version (<major>.<minor>); upgrade one minor version at a time."
  type        = string
  default     = "1.34"
}

variable "cluster_admin_cidrs" {
  description = "CIDR blocks allowed to reach the EKS API's public endpoint (CI runners, the operators' VPN)."
  type        = list(string)
}

variable "node_instance_types" {
  description = "Instance types of the EKS managed node group."
  type        = list(string)
  default     = ["m7i.large"]
}

variable "node_count" {
  description = "Size of the EKS managed node group (desired is only read when the group is created)."
  type        = object({ min = number, max = number, desired = number })
  default     = { min = 3, max = 9, desired = 3 }
}

variable "shop_host" {
  description = "Public host name of the shop (shop.example.com): the Ingress host and the origin browsers upload to the bucket from (CORS)."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for shop_host, served by the ALB the AWS Load Balancer Controller creates for the Ingress."
  type        = string
}

variable "image_digest" {
  description = "Digest (sha256:...) of the Meridian service image in the meridian ECR repository."
  type        = string

  validation {
    condition     = can(regex("^sha256:[0-9a-f]{64}$", var.image_digest))
    error_message = "image_digest must be sha256:<64 hex digits>."
  }
}

variable "function_image_digest" {
  description = "Digest (sha256:...) of the image function's Lambda image (the Dockerfile's lambda target) in the meridian-image-function ECR repository."
  type        = string

  validation {
    condition     = can(regex("^sha256:[0-9a-f]{64}$", var.function_image_digest))
    error_message = "function_image_digest must be sha256:<64 hex digits>."
  }
}

variable "function_architecture" {
  description = "Instruction set of the Lambda image: x86_64 or arm64."
  type        = string
  default     = "x86_64"
}

variable "function_reserved_concurrency" {
  description = "Most concurrent invocations of the image function (bounds its load on MSK and its cost)."
  type        = number
  default     = 20
}

variable "db_instance_class" {
  description = "RDS instance class of the PostgreSQL database."
  type        = string
  default     = "db.m7g.large"
}

variable "db_engine_version" {
  description = "PostgreSQL major version (15 or later)."
  type        = string
  default     = "17"

  validation {
    condition     = tonumber(split(".", var.db_engine_version)[0]) >= 15
    error_message = "db_engine_version must be 15 or later."
  }
}

variable "db_allocated_storage" {
  description = "Initial storage of the database in GiB; storage autoscaling may grow it to four times this."
  type        = number
  default     = 50
}

variable "db_multi_az" {
  description = "Whether the database has a synchronous standby in another availability zone."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window) of the database."
  type        = number
  default     = 14
}

variable "kafka_version" {
  description = "Apache Kafka version of the MSK cluster."
  type        = string
  default     = "3.8.x"
}

variable "kafka_instance_type" {
  description = "Broker instance type of the MSK cluster."
  type        = string
  default     = "kafka.m7g.large"
}

variable "kafka_volume_size" {
  description = "EBS volume of each broker in GiB."
  type        = number
  default     = 200
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups this root creates."
  type        = number
  default     = 365
}

variable "roles" {
  description = "Meridian roles to run and their sizes (see modules/k8s-app); null keeps the module's default of all eleven roles."
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
  default = null
}

variable "settings" {
  description = "Extra MERIDIAN_* settings (docs/configuration.md), merged over the ones this root derives; never secrets."
  type        = map(string)
  default     = {}
}
