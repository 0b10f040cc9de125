variable "account_id" {
  type        = string
  description = "The AWS account the payments platform deploys to."
}

variable "environment" {
  type    = string
  default = "prod"
}

variable "legacy_rotation" {
  type    = bool
  default = true
}

variable "rotation_days" {
  type    = number
  default = 365
}

variable "replica_count" {
  type    = number
  default = 1
}

variable "apps" {
  type = map(object({ rotate = bool }))
  default = {}
}

# Set by the release pipeline; the code alone does not say.
variable "pipeline_rotation" {
  type = bool
}
