resource "azurerm_private_dns_zone" "postgres" {
  name                = "${var.name}.private.postgres.database.azure.com"
  resource_group_name = azurerm_resource_group.meridian.name
  tags                = local.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "postgres" {
  name                  = "${var.name}-postgres"
  resource_group_name   = azurerm_resource_group.meridian.name
  private_dns_zone_name = azurerm_private_dns_zone.postgres.name
  virtual_network_id    = azurerm_virtual_network.meridian.id
  tags                  = local.tags
}

# Letters and digits only, so it needs no escaping in MERIDIAN_STORAGE_URL. Generated here, kept in Key Vault and
# in the Kubernetes Secret; never in code or a variable.
resource "random_password" "postgres" {
  length  = 40
  special = false
}

# Private access only: the server gets an address in the delegated subnet and a name in the private DNS zone.
resource "azurerm_postgresql_flexible_server" "meridian" {
  #checkov:skip=CKV2_AZURE_57:Private access through VNet integration (delegated subnet and private DNS zone, no public access) instead of a private endpoint; the two are exclusive.
  name                = "${var.name}-pg-${random_string.suffix.result}"
  location            = azurerm_resource_group.meridian.location
  resource_group_name = azurerm_resource_group.meridian.name
  version             = "15"
  sku_name            = var.postgres_sku
  storage_mb          = var.postgres_storage_mb
  auto_grow_enabled   = true
  zone                = "1"
  tags                = local.tags

  delegated_subnet_id           = azurerm_subnet.postgres.id
  private_dns_zone_id           = azurerm_private_dns_zone.postgres.id
  public_network_access_enabled = false

  administrator_login    = "meridian"
  administrator_password = random_password.postgres.result

  # Meridian signs in with the password; operators can use Entra ID.
  authentication {
    password_auth_enabled         = true
    active_directory_auth_enabled = true
    tenant_id                     = data.azurerm_client_config.current.tenant_id
  }

  backup_retention_days        = 35
  geo_redundant_backup_enabled = true

  dynamic "high_availability" {
    for_each = var.postgres_high_availability ? [1] : []
    content {
      mode                      = "ZoneRedundant"
      standby_availability_zone = "2"
    }
  }

  maintenance_window {
    day_of_week  = 0
    start_hour   = 3
    start_minute = 0
  }

  lifecycle {
    prevent_destroy = true
    ignore_changes  = [zone, high_availability[0].standby_availability_zone]
  }

  depends_on = [azurerm_private_dns_zone_virtual_network_link.postgres]
}

resource "azurerm_postgresql_flexible_server_database" "meridian" {
  name      = "meridian"
  server_id = azurerm_postgresql_flexible_server.meridian.id
  charset   = "UTF8"
  collation = "en_US.utf8"
}

resource "azurerm_postgresql_flexible_server_configuration" "meridian" {
  for_each = {
    "require_secure_transport"   = "on"
    "log_checkpoints"            = "on"
    "log_connections"            = "on"
    "log_disconnections"         = "on"
    "connection_throttle.enable" = "on"
  }

  name      = each.key
  server_id = azurerm_postgresql_flexible_server.meridian.id
  value     = each.value
}
