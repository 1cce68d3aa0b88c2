variable "account_id" {
  description = "Cloudflare account that owns the monitor and the pools."
  type        = string
}

variable "zone_id" {
  description = "Cloudflare zone of the shop's host name."
  type        = string
}

variable "shop_hostname" {
  description = "The shop's public host name (shop.example.com): the load balancer's name and the Host header of the health checks."
  type        = string
}

variable "cloud_origins" {
  description = "Origins of the primary (cloud) pool: name and public address (IP or host name, e.g. the ALB the EKS Ingress created)."
  type        = list(object({ name = string, address = string }))

  validation {
    condition     = length(var.cloud_origins) > 0
    error_message = "cloud_origins: at least one origin."
  }
}

variable "onprem_origins" {
  description = "Origins of the on-premises pool, the fallback: name and public address (IP or host name)."
  type        = list(object({ name = string, address = string }))

  validation {
    condition     = length(var.onprem_origins) > 0
    error_message = "onprem_origins: at least one origin."
  }
}

variable "monitor_interval" {
  description = "Seconds between two health checks of each origin (the plan sets the lowest allowed: 60 on Pro, 15 on Business, 10 on Enterprise)."
  type        = number
  default     = 60
}
