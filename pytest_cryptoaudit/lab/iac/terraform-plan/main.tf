# The root module of a planned change; plan.json beside it is its `terraform show -json`.
resource "aws_kms_key" "orders" {
  description             = "orders"
  enable_key_rotation     = true
  rotation_period_in_days = 90
}

resource "aws_kms_key" "batch" {
  description         = "batch"
  enable_key_rotation = false
}

resource "aws_kms_key" "retired" {
  description         = "retired"
  enable_key_rotation = true
}

module "vendor" {
  source  = "example-corp/kms/aws"
  version = "1.2.0"
}
