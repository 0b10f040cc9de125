# The exports key's policy, built as most modules build key policies.
data "aws_iam_policy_document" "exports" {
  statement {
    sid       = "AccountAdmins"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [local.admin_role]
    }
  }
  statement {
    sid       = "ExportService"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}
