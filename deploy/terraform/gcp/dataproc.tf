# The Flink twin of Meridian's analytics role (deploy/flink): a Dataproc cluster with the Flink component. The job
# templates and render-sql.py are uploaded to a bucket; the initialization action renders each job's script on the
# master with the Kafka password from Secret Manager. The jobs are submitted with `gcloud dataproc jobs submit
# flink` (google_dataproc_job has no Flink job type): see the flink_submit_commands output and README.md.

locals {
  flink_dir   = "${path.module}/../../flink"
  scripts_dir = "${path.module}/../../../scripts/flink"

  # Uploaded under meridian/ with the repository's layout, which render-sql.py expects.
  flink_files = merge(
    { for f in fileset(local.flink_dir, "jobs/*.sql") : "deploy/flink/${f}" => "${local.flink_dir}/${f}" },
    { for f in ["kafka-tables.sql", "postgres-sink.sql"] : "deploy/flink/${f}" => "${local.flink_dir}/${f}" },
    { for f in ["render-sql.py", "flinksql.py"] : "scripts/flink/${f}" => "${local.scripts_dir}/${f}" },
  )
  flink_jobs = [for f in fileset(local.flink_dir, "jobs/*.sql") : trimsuffix(basename(f), ".sql")]
}

resource "google_service_account" "dataproc" {
  count = var.enable_dataproc ? 1 : 0

  account_id   = "${var.name}-dataproc"
  display_name = "Meridian Dataproc (Flink analytics)"
}

resource "google_project_iam_member" "dataproc_worker" {
  count = var.enable_dataproc ? 1 : 0

  project = var.project_id
  role    = "roles/dataproc.worker"
  member  = "serviceAccount:${google_service_account.dataproc[0].email}"
}

# The job templates, Flink's checkpoints and savepoints, Dataproc's staging and temporary files.
resource "google_storage_bucket" "flink" {
  count = var.enable_dataproc ? 1 : 0

  name                        = "${var.project_id}-${var.name}-flink"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  logging {
    log_bucket = google_storage_bucket.logs.name
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
}

resource "google_storage_bucket_iam_member" "flink_dataproc" {
  count = var.enable_dataproc ? 1 : 0

  bucket = google_storage_bucket.flink[0].name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.dataproc[0].email}"
}

resource "google_storage_bucket_object" "flink" {
  for_each = var.enable_dataproc ? local.flink_files : {}

  bucket       = google_storage_bucket.flink[0].name
  name         = "meridian/${each.key}"
  source       = each.value
  content_type = "text/plain"
}

resource "google_storage_bucket_object" "dataproc_init" {
  count = var.enable_dataproc ? 1 : 0

  bucket       = google_storage_bucket.flink[0].name
  name         = "meridian/dataproc-init.sh"
  source       = "${path.module}/dataproc-init.sh"
  content_type = "text/x-shellscript"
}

resource "google_dataproc_cluster" "flink" {
  #checkov:skip=CKV_GCP_91:The cluster holds only Flink state derived from Kafka; Google-managed disk encryption is used instead of a customer-managed KMS key.
  count = var.enable_dataproc ? 1 : 0

  name   = "${var.name}-flink"
  region = var.region
  labels = local.labels

  cluster_config {
    staging_bucket = google_storage_bucket.flink[0].name
    temp_bucket    = google_storage_bucket.flink[0].name

    gce_cluster_config {
      subnetwork       = google_compute_subnetwork.meridian.id
      internal_ip_only = true
      service_account  = google_service_account.dataproc[0].email
      tags             = ["${var.name}-dataproc"]

      service_account_scopes = ["cloud-platform"]

      shielded_instance_config {
        enable_secure_boot          = true
        enable_vtpm                 = true
        enable_integrity_monitoring = true
      }

      # Read by dataproc-init.sh.
      metadata = {
        meridian-sources         = "gs://${google_storage_bucket.flink[0].name}/meridian"
        meridian-kafka-bootstrap = local.kafka_bootstrap
        meridian-kafka-username  = google_service_account.meridian.email
        meridian-kafka-secret    = google_secret_manager_secret.meridian["kafka-password"].secret_id
        meridian-db-secret       = google_secret_manager_secret.meridian["db-password"].secret_id
        meridian-db-url          = "jdbc:postgresql://${google_sql_database_instance.meridian.private_ip_address}:5432/${google_sql_database.meridian.name}?sslmode=require"
        meridian-topic-prefix    = var.topic_prefix
        meridian-checkpoints     = "gs://${google_storage_bucket.flink[0].name}/checkpoints"
        block-project-ssh-keys   = "true"
      }
    }

    master_config {
      num_instances = 1
      machine_type  = var.dataproc_machine_type
      disk_config {
        boot_disk_type    = "pd-balanced"
        boot_disk_size_gb = 100
      }
    }

    worker_config {
      num_instances = var.dataproc_workers
      machine_type  = var.dataproc_machine_type
      disk_config {
        boot_disk_type    = "pd-balanced"
        boot_disk_size_gb = 100
      }
    }

    software_config {
      image_version       = var.dataproc_image_version
      optional_components = ["FLINK"]
      override_properties = {
        "flink:state.checkpoints.dir" = "gs://${google_storage_bucket.flink[0].name}/checkpoints"
        "flink:state.savepoints.dir"  = "gs://${google_storage_bucket.flink[0].name}/savepoints"
      }
    }

    initialization_action {
      script      = "gs://${google_storage_bucket.flink[0].name}/${google_storage_bucket_object.dataproc_init[0].name}"
      timeout_sec = 300
    }

    endpoint_config {
      enable_http_port_access = false
    }
  }

  depends_on = [
    google_storage_bucket_object.flink,
    google_storage_bucket_iam_member.flink_dataproc,
    google_secret_manager_secret_iam_member.dataproc,
    google_project_iam_member.dataproc_worker,
  ]
}
