variable "apps" {
  type = map(object({ rotate = bool }))
}

module "key" {
  source   = "../kms-key"
  for_each = var.apps
  name     = each.key
  rotate   = each.value.rotate
}
