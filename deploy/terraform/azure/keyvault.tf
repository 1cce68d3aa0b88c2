resource "azurerm_key_vault" "meridian" {
  #checkov:skip=CKV_AZURE_189:Terraform writes the secrets from var.admin_ip_ranges; network_acls deny every other address except the AKS subnet.
  #checkov:skip=CKV2_AZURE_32:Access is limited by network_acls (AKS subnet service endpoint, operator addresses) instead of a private endpoint.
  name                = "${var.name}-kv-${random_string.suffix.result}"
  location            = azurerm_resource_group.meridian.location
  resource_group_name = azurerm_resource_group.meridian.name
  tenant_id           = data.azurerm_client_config.current.tenant_id
  sku_name            = "standard"
  tags                = local.tags

  rbac_authorization_enabled    = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = 90
  public_network_access_enabled = true

  network_acls {
    default_action             = "Deny"
    bypass                     = "AzureServices"
    ip_rules                   = var.admin_ip_ranges
    virtual_network_subnet_ids = [azurerm_subnet.aks.id]
  }
}

resource "azurerm_role_assignment" "terraform_secrets_officer" {
  scope                = azurerm_key_vault.meridian.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "random_password" "jwt" {
  length  = 64
  special = false
}

resource "random_password" "minio" {
  length  = 40
  special = false
}

locals {
  # Values come from generated passwords and from other resources, never from code or variables. They are in
  # Terraform's state too: keep the state container private.
  secrets = {
    jwt-secret           = random_password.jwt.result
    postgres-password    = random_password.postgres.result
    eventhubs-connection = azurerm_eventhub_namespace_authorization_rule.meridian.primary_connection_string
    minio-root-password  = random_password.minio.result
  }
}

resource "azurerm_key_vault_secret" "meridian" {
  #checkov:skip=CKV_AZURE_41:Secrets are rotated by Terraform; an expiry date would make them unreadable to the running pods.
  for_each = toset(keys(local.secrets))

  name         = each.key
  value        = local.secrets[each.key]
  key_vault_id = azurerm_key_vault.meridian.id
  content_type = "text/plain"
  tags         = local.tags

  depends_on = [azurerm_role_assignment.terraform_secrets_officer]
}
