resource "google_kms_key_ring" "payments" {
  name     = "payments"
  location = "europe-west1"
}

# Clean: HSM, rotated every 90 days.
resource "google_kms_crypto_key" "orders" {
  name            = "orders"
  key_ring        = google_kms_key_ring.payments.id
  rotation_period = "7776000s"
  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = "HSM"
  }
}

# Weak: never rotated, and readable by anyone.
resource "google_kms_crypto_key" "archive" {
  name     = "archive"
  key_ring = google_kms_key_ring.payments.id
}

resource "google_kms_crypto_key_iam_member" "archive_public" {
  crypto_key_id = google_kms_crypto_key.archive.id
  role          = "roles/cloudkms.cryptoKeyDecrypter"
  member        = "allUsers"
}

resource "google_kms_crypto_key_iam_binding" "orders_app" {
  crypto_key_id = google_kms_crypto_key.orders.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  members       = ["serviceAccount:orders@payments-prod.iam.gserviceaccount.com"]
}
