account_id      = "111122223333"
legacy_rotation = false
rotation_days   = 90
replica_count   = 2
apps = {
  checkout = { rotate = true }
  refunds  = { rotate = false }
}
