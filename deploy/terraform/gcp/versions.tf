terraform {
  required_version = ">= 1.9"

  # Partial configuration: terraform init -backend-config=backend.hcl (bucket, prefix); see README.md.
  backend "gcs" {}

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.40"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.36"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = local.labels
}

data "google_client_config" "current" {}

data "google_project" "current" {}

# The cluster's endpoint is reached over its public endpoint, limited to var.master_authorized_networks (or over
# the private endpoint when enable_private_endpoint is true and Terraform runs inside the VPC).
provider "kubernetes" {
  host                   = "https://${google_container_cluster.meridian.endpoint}"
  token                  = data.google_client_config.current.access_token
  cluster_ca_certificate = base64decode(google_container_cluster.meridian.master_auth[0].cluster_ca_certificate)
}

locals {
  labels = merge({ app = "meridian", managed-by = "terraform" }, var.labels)

  # CONTRACTS.md, "Topics"; every name gets var.topic_prefix in front, as MERIDIAN_TOPICS_PREFIX does.
  topics = [
    "events", "events-dlq", "orders",
    "payment.requested", "payment.succeeded", "payment.failed", "payment.refunded",
    "product.deleted", "product-images.uploaded", "product-images.processed", "analytics-results",
  ]
}
