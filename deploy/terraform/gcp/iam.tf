# Meridian's pods run as this Google service account through Workload Identity. It holds no project role but
# managedkafka.client: object access is granted on the bucket only (storage.tf), secrets reach the pods through the
# Kubernetes Secret (app.tf).
resource "google_service_account" "meridian" {
  account_id   = var.name
  display_name = "Meridian pods (Workload Identity)"
}

resource "google_service_account_iam_member" "meridian_workload_identity" {
  service_account_id = google_service_account.meridian.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${module.meridian.namespace}/${module.meridian.service_account_name}]"
}

# managedkafka.client is granted on the project: Managed Kafka has no per-cluster IAM binding in the provider.
resource "google_project_iam_member" "meridian_kafka" {
  project = var.project_id
  role    = "roles/managedkafka.client"
  member  = "serviceAccount:${google_service_account.meridian.email}"
}

# Managed Kafka's SASL/PLAIN takes the principal's e-mail as user name and its key file, base64-encoded, as password.
# librdkafka cannot mint Google OAuth tokens itself (OAUTHBEARER needs a token provider), so Meridian and Flink use
# this key. private_key is already the base64-encoded key file. Rotate it by tainting this resource.
resource "google_service_account_key" "meridian_kafka" {
  service_account_id = google_service_account.meridian.name
}
