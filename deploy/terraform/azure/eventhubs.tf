# Event Hubs' Kafka endpoint: NAMESPACE.servicebus.windows.net:9093, SASL_SSL with PLAIN, user name
# $ConnectionString and the connection string as password (docs/operations.md).
resource "azurerm_eventhub_namespace" "meridian" {
  #checkov:skip=CKV_AZURE_228:Meridian (librdkafka) authenticates to the Kafka endpoint with SASL PLAIN and a SAS connection string; Entra OAUTHBEARER would need a token provider librdkafka lacks, so local (SAS) authentication stays on.
  name                = "${var.name}-${random_string.suffix.result}"
  location            = azurerm_resource_group.meridian.location
  resource_group_name = azurerm_resource_group.meridian.name
  sku                 = var.eventhubs_sku
  capacity            = var.eventhubs_capacity
  tags                = local.tags

  minimum_tls_version           = "1.2"
  local_authentication_enabled  = true
  public_network_access_enabled = true

  network_rulesets {
    default_action                 = "Deny"
    trusted_service_access_enabled = true

    virtual_network_rule {
      subnet_id = azurerm_subnet.aks.id
    }
  }
}

resource "azurerm_eventhub" "topics" {
  for_each = toset(local.topics)

  name              = "${var.topic_prefix}${each.value}"
  namespace_id      = azurerm_eventhub_namespace.meridian.id
  partition_count   = var.topic_partitions
  message_retention = var.topic_retention_days
}

# Send and listen, no manage: Meridian cannot create topics here (it logs a warning and goes on; they exist).
resource "azurerm_eventhub_namespace_authorization_rule" "meridian" {
  name                = "meridian"
  namespace_name      = azurerm_eventhub_namespace.meridian.name
  resource_group_name = azurerm_resource_group.meridian.name
  listen              = true
  send                = true
  manage              = false
}
