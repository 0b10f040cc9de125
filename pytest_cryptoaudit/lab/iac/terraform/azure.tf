# Weak: purge protection off and open to every network.
resource "azurerm_key_vault" "tenants" {
  name                       = "tenants-${var.environment}"
  location                   = "westeurope"
  resource_group_name        = "payments"
  tenant_id                  = "00000000-0000-0000-0000-000000000001"
  sku_name                   = "premium"
  soft_delete_retention_days = 7
  purge_protection_enabled   = false
}

resource "azurerm_key_vault_key" "tenant" {
  name         = "tenant-data"
  key_vault_id = azurerm_key_vault.tenants.id
  key_type     = "RSA-HSM"
  key_size     = 3072
  key_opts     = ["wrapKey", "unwrapKey"]
  rotation_policy {
    automatic {
      time_after_creation = "P90D"
    }
    expire_after = "P180D"
  }
}
