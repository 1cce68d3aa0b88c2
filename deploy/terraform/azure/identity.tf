# Meridian's pods get this identity through AKS workload identity: the k8s-app module's service account carries
# its client id, and the federated credential trusts that service account's tokens from the cluster's issuer.
# Its only role: reading the vault's secrets (for the Secrets Store CSI driver, should the Secret be synced that way).
resource "azurerm_user_assigned_identity" "meridian" {
  name                = "${var.name}-workload"
  location            = azurerm_resource_group.meridian.location
  resource_group_name = azurerm_resource_group.meridian.name
  tags                = local.tags
}

resource "azurerm_federated_identity_credential" "meridian" {
  name                = "${var.name}-k8s"
  resource_group_name = azurerm_resource_group.meridian.name
  parent_id           = azurerm_user_assigned_identity.meridian.id
  audience            = ["api://AzureADTokenExchange"]
  issuer              = azurerm_kubernetes_cluster.meridian.oidc_issuer_url
  subject             = "system:serviceaccount:${module.meridian.namespace}:${module.meridian.service_account_name}"
}

resource "azurerm_role_assignment" "meridian_secrets" {
  scope                = azurerm_key_vault.meridian.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.meridian.principal_id
}
