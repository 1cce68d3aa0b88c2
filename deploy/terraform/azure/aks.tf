resource "azurerm_log_analytics_workspace" "meridian" {
  name                = "${var.name}-logs"
  location            = azurerm_resource_group.meridian.location
  resource_group_name = azurerm_resource_group.meridian.name
  sku                 = "PerGB2018"
  retention_in_days   = 30
  tags                = local.tags
}

resource "azurerm_kubernetes_cluster" "meridian" {
  #checkov:skip=CKV_AZURE_115:Terraform's kubernetes provider and the operators reach the API server over its public endpoint, limited to var.admin_ip_ranges; a private cluster needs Terraform inside the VNet.
  #checkov:skip=CKV_AZURE_6:authorized_ip_ranges is set (api_server_access_profile) from var.admin_ip_ranges, which checkov cannot resolve statically.
  #checkov:skip=CKV_AZURE_117:OS disks are ephemeral and encrypted at the host (host_encryption_enabled) with platform-managed keys; no customer-managed disk encryption set.
  name                = var.name
  location            = azurerm_resource_group.meridian.location
  resource_group_name = azurerm_resource_group.meridian.name
  dns_prefix          = var.name
  kubernetes_version  = var.kubernetes_version
  sku_tier            = "Standard"
  tags                = local.tags

  automatic_upgrade_channel = "patch"
  node_os_upgrade_channel   = "NodeImage"

  # Workload identity: pods exchange their service account token for an Entra token (identity.tf).
  oidc_issuer_enabled       = true
  workload_identity_enabled = true

  # Entra ID only, with Azure RBAC for Kubernetes authorization.
  local_account_disabled = true
  azure_active_directory_role_based_access_control {
    tenant_id              = data.azurerm_client_config.current.tenant_id
    azure_rbac_enabled     = true
    admin_group_object_ids = var.admin_group_object_ids
  }

  api_server_access_profile {
    authorized_ip_ranges = var.admin_ip_ranges
  }

  azure_policy_enabled = true

  key_vault_secrets_provider {
    secret_rotation_enabled = true
  }

  oms_agent {
    log_analytics_workspace_id      = azurerm_log_analytics_workspace.meridian.id
    msi_auth_for_monitoring_enabled = true
  }

  web_app_routing {
    dns_zone_ids = []
  }

  default_node_pool {
    name                         = "system"
    vm_size                      = var.node_vm_size
    vnet_subnet_id               = azurerm_subnet.aks.id
    auto_scaling_enabled         = true
    min_count                    = 2
    max_count                    = 3
    max_pods                     = 50
    os_disk_type                 = "Ephemeral"
    os_disk_size_gb              = 100
    host_encryption_enabled      = true
    only_critical_addons_enabled = true
    zones                        = ["1", "2", "3"]
    tags                         = local.tags

    upgrade_settings {
      max_surge = "33%"
    }
  }

  identity {
    type = "SystemAssigned"
  }

  # Azure CNI (pods get VNet addresses) with Azure network policy enforcing NetworkPolicy objects.
  network_profile {
    network_plugin    = "azure"
    network_policy    = "azure"
    load_balancer_sku = "standard"
    service_cidr      = "10.100.0.0/16"
    dns_service_ip    = "10.100.0.10"
  }

  lifecycle {
    ignore_changes = [default_node_pool[0].node_count]
  }
}

# Meridian and MinIO run here; the system pool only takes critical add-ons.
resource "azurerm_kubernetes_cluster_node_pool" "apps" {
  name                    = "apps"
  kubernetes_cluster_id   = azurerm_kubernetes_cluster.meridian.id
  vm_size                 = var.node_vm_size
  vnet_subnet_id          = azurerm_subnet.aks.id
  auto_scaling_enabled    = true
  min_count               = var.node_min_count
  max_count               = var.node_max_count
  max_pods                = 50
  os_disk_type            = "Ephemeral"
  os_disk_size_gb         = 100
  host_encryption_enabled = true
  zones                   = ["1", "2", "3"]
  mode                    = "User"
  tags                    = local.tags

  upgrade_settings {
    max_surge = "33%"
  }

  lifecycle {
    ignore_changes = [node_count]
  }
}

# The principal running Terraform manages the cluster's objects (the kubernetes provider, kubelogin).
resource "azurerm_role_assignment" "terraform_cluster_admin" {
  scope                = azurerm_kubernetes_cluster.meridian.id
  role_definition_name = "Azure Kubernetes Service RBAC Cluster Admin"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_role_assignment" "aks_acr_pull" {
  scope                            = azurerm_container_registry.meridian.id
  role_definition_name             = "AcrPull"
  principal_id                     = azurerm_kubernetes_cluster.meridian.kubelet_identity[0].object_id
  skip_service_principal_aad_check = true
}

# Azure CNI with a custom subnet: the cluster identity joins nodes' NICs and load balancers to it.
resource "azurerm_role_assignment" "aks_network" {
  scope                = azurerm_subnet.aks.id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_kubernetes_cluster.meridian.identity[0].principal_id
}
