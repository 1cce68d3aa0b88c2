resource "google_artifact_registry_repository" "meridian" {
  #checkov:skip=CKV_GCP_84:Images are not confidential; Google-managed encryption at rest is used instead of a customer-managed KMS key.
  repository_id = var.name
  location      = var.region
  format        = "DOCKER"
  description   = "Meridian's container images (pushed by CI, pulled by digest)."

  docker_config {
    immutable_tags = true
  }

  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "2592000s"
    }
  }

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 20
    }
  }
}

resource "google_artifact_registry_repository_iam_member" "nodes" {
  repository = google_artifact_registry_repository.meridian.name
  location   = google_artifact_registry_repository.meridian.location
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.nodes.email}"
}
