# Meridian's object store (objects.url) is one bucket: raw uploads under uploads/ (the image function's trigger
# prefix), variants under processed/, CSV reports under ingest/, analytics results under analytics/. Meridian
# reaches it through the Cloud Storage XML API, which is S3-compatible, with an HMAC key of its service account:
# MERIDIAN_OBJECTS_URL=s3://BUCKET?endpoint=https://storage.googleapis.com&region=auto.
resource "google_storage_bucket" "objects" {
  name                        = "${var.project_id}-${var.name}-objects"
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  logging {
    log_bucket = google_storage_bucket.logs.name
  }

  # Raw uploads are only read once the variants exist: cheaper storage after 30 days.
  lifecycle_rule {
    condition {
      age            = 30
      matches_prefix = ["uploads/"]
    }
    action {
      type          = "SetStorageClass"
      storage_class = "NEARLINE"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  dynamic "cors" {
    for_each = length(var.cors_origins) > 0 ? [1] : []
    content {
      origin          = var.cors_origins
      method          = ["GET", "PUT", "HEAD"]
      response_header = ["Content-Type", "ETag"]
      max_age_seconds = 3600
    }
  }
}

# Access logs of the other buckets.
resource "google_storage_bucket" "logs" {
  #checkov:skip=CKV_GCP_62:This is the log bucket itself; logging it into itself would loop.
  name                        = "${var.project_id}-${var.name}-logs"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = 365
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_iam_member" "objects_meridian" {
  bucket = google_storage_bucket.objects.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.meridian.email}"
}

# The S3-style key Meridian signs its requests (and its presigned URLs) with. Its secret lands in Terraform's state
# (keep the state bucket private) and in Secret Manager.
resource "google_storage_hmac_key" "meridian" {
  service_account_email = google_service_account.meridian.email
}
