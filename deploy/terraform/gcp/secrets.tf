# Values are generated or read from other resources: none is written in code or given as a variable. They are in
# Terraform's state, so the state bucket must be private, versioned and encrypted.
resource "random_password" "jwt" {
  length  = 64
  special = false
}

locals {
  secrets = {
    jwt-secret     = random_password.jwt.result
    db-password    = random_password.db.result
    hmac-secret    = google_storage_hmac_key.meridian.secret
    kafka-password = google_service_account_key.meridian_kafka.private_key
  }
}

resource "google_secret_manager_secret" "meridian" {
  for_each = toset(keys(local.secrets))

  secret_id = "${var.name}-${each.key}"
  labels    = local.labels

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }
}

resource "google_secret_manager_secret_version" "meridian" {
  for_each = toset(keys(local.secrets))

  secret      = google_secret_manager_secret.meridian[each.key].id
  secret_data = local.secrets[each.key]
}

# The Flink jobs on Dataproc read the Kafka password and, for postgres-sink, the database password.
resource "google_secret_manager_secret_iam_member" "dataproc" {
  for_each = var.enable_dataproc ? toset(["kafka-password", "db-password"]) : toset([])

  secret_id = google_secret_manager_secret.meridian[each.key].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.dataproc[0].email}"
}
