terraform {
  required_version = ">= 1.9"

  # Partial configuration: terraform init -backend-config=backend.hcl (resource_group_name, storage_account_name,
  # container_name, key); see README.md.
  backend "azurerm" {}

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.42"
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

provider "azurerm" {
  subscription_id = var.subscription_id

  features {
    key_vault {
      purge_soft_delete_on_destroy = false
    }
  }
}

data "azurerm_client_config" "current" {}

# Local accounts are disabled (Entra ID only): the provider gets a token from kubelogin with the Azure CLI's login
# (the principal running Terraform is made cluster admin in aks.tf). The server id is AKS's Entra application.
provider "kubernetes" {
  host                   = azurerm_kubernetes_cluster.meridian.kube_config[0].host
  cluster_ca_certificate = base64decode(azurerm_kubernetes_cluster.meridian.kube_config[0].cluster_ca_certificate)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "kubelogin"
    args        = ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
  }
}

locals {
  tags = merge({ app = "meridian", managed-by = "terraform" }, var.tags)

  # CONTRACTS.md, "Topics": each is an event hub (Event Hubs' Kafka endpoint calls them topics).
  topics = [
    "events", "events-dlq", "orders",
    "payment.requested", "payment.succeeded", "payment.failed", "payment.refunded",
    "product.deleted", "product-images.uploaded", "product-images.processed", "analytics-results",
  ]
}
