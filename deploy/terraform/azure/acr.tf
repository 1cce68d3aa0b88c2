resource "random_string" "suffix" {
  length  = 6
  special = false
  upper   = false
}

# Premium: the only tier with retention of untagged manifests, content trust, network rules and zone redundancy.
resource "azurerm_container_registry" "meridian" {
  #checkov:skip=CKV_AZURE_139:CI pushes over the registry's public endpoint; network_rule_set denies every address but var.admin_ip_ranges and trusted Azure services.
  #checkov:skip=CKV_AZURE_166:Quarantine holds every pushed image until a scanner releases it; none is wired in here, so it would block every deployment.
  #checkov:skip=CKV_AZURE_165:One region: geo-replication is a cost decision per deployment, not a default.
  name                = "${var.name}${random_string.suffix.result}"
  location            = azurerm_resource_group.meridian.location
  resource_group_name = azurerm_resource_group.meridian.name
  sku                 = "Premium"
  tags                = local.tags

  admin_enabled                 = false
  anonymous_pull_enabled        = false
  data_endpoint_enabled         = true
  zone_redundancy_enabled       = true
  retention_policy_in_days      = 7
  trust_policy_enabled          = true
  public_network_access_enabled = true
  network_rule_bypass_option    = "AzureServices"

  network_rule_set {
    default_action = "Deny"

    dynamic "ip_rule" {
      for_each = var.admin_ip_ranges
      content {
        action   = "Allow"
        ip_range = ip_rule.value
      }
    }
  }
}

# The nodes pull through a private endpoint in the VNet: the public endpoint only admits var.admin_ip_ranges.
resource "azurerm_private_dns_zone" "acr" {
  name                = "privatelink.azurecr.io"
  resource_group_name = azurerm_resource_group.meridian.name
  tags                = local.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "acr" {
  name                  = "${var.name}-acr"
  resource_group_name   = azurerm_resource_group.meridian.name
  private_dns_zone_name = azurerm_private_dns_zone.acr.name
  virtual_network_id    = azurerm_virtual_network.meridian.id
  tags                  = local.tags
}

resource "azurerm_private_endpoint" "acr" {
  name                = "${var.name}-acr"
  location            = azurerm_resource_group.meridian.location
  resource_group_name = azurerm_resource_group.meridian.name
  subnet_id           = azurerm_subnet.endpoints.id
  tags                = local.tags

  private_service_connection {
    name                           = "acr"
    private_connection_resource_id = azurerm_container_registry.meridian.id
    subresource_names              = ["registry"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "acr"
    private_dns_zone_ids = [azurerm_private_dns_zone.acr.id]
  }
}
