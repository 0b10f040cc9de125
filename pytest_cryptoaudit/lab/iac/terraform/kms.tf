locals {
  admin_role = "arn:aws:iam::${var.account_id}:role/kms-admin"
  tags       = { environment = var.environment, "cryptoaudit:ssrm-owner" = "CSC" }
}

# Clean: rotated every 90 days, a policy naming the account's own roles.
resource "aws_kms_key" "ledger" {
  description             = "ledger ${var.environment}"
  enable_key_rotation     = true
  rotation_period_in_days = var.rotation_days
  deletion_window_in_days = 30
  tags                    = local.tags
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "Admins"
      Effect    = "Allow"
      Principal = { AWS = local.admin_role }
      Action    = ["kms:*"]
      Resource  = "*"
    }]
  })
}

# Weak: rotation switched off through tfvars.
resource "aws_kms_key" "legacy" {
  description         = "legacy batch key"
  enable_key_rotation = var.legacy_rotation
}

# Weak: anyone may use the key.
resource "aws_kms_key" "shared" {
  description         = "shared with everyone"
  enable_key_rotation = true
  policy              = <<-POLICY
    {
      "Version": "2012-10-17",
      "Statement": [
        {"Sid": "Everyone", "Effect": "Allow", "Principal": "*",
         "Action": "kms:Decrypt", "Resource": "*"}
      ]
    }
  POLICY
}

# Weak: a grant to a partner account nobody trusted.
resource "aws_kms_key" "exports" {
  policy              = data.aws_iam_policy_document.exports.json
  enable_key_rotation = true
}

resource "aws_kms_grant" "partner" {
  name              = "partner-decrypt"
  key_id            = aws_kms_key.exports.key_id
  grantee_principal = "arn:aws:iam::999988887777:role/partner"
  operations        = ["Decrypt"]
}

# Weak: imported key material never delivered.
resource "aws_kms_external_key" "byok" {
  description = "customer supplied"
}

# Unknown: the rotation comes from the pipeline, not from the code.
resource "aws_kms_key" "pipeline" {
  description         = "rotation decided by the pipeline"
  enable_key_rotation = var.pipeline_rotation
}

# Counted: one key per replica, each rotated.
resource "aws_kms_key" "replica" {
  count               = var.replica_count
  description         = "replica ${count.index}"
  enable_key_rotation = var.environment == "prod" ? true : false
}

# Unresolvable: the regions come from a data source read at plan time.
resource "aws_kms_key" "regional" {
  for_each            = toset(data.aws_regions.enabled.names)
  description         = "regional ${each.key}"
  enable_key_rotation = true
}

module "apps" {
  source = "./modules/app-keys"
  apps   = var.apps
}

module "vendor" {
  source  = "example-corp/kms/aws"
  version = "1.2.0"
}
