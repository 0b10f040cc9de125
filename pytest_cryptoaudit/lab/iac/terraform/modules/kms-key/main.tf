variable "name" {
  type = string
}

variable "rotate" {
  type    = bool
  default = true
}

resource "aws_kms_key" "this" {
  description         = "application key for ${var.name}"
  enable_key_rotation = var.rotate
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
