"""Azure Key Vault and Managed HSM (``provider = "azure-keyvault"``, extra ``[azure]``)."""

from .provider import AzureKeyVaultProvider

__all__ = ["AzureKeyVaultProvider"]
