# Azure Blob Storage has no S3 API, and Meridian's object store speaks S3 only (objects.url): the objects live in
# MinIO, one replica on a zone-redundant premium managed disk, reachable inside the cluster only.

locals {
  minio_labels   = merge(local.tags, { "app.kubernetes.io/name" = "minio", "app.kubernetes.io/part-of" = "meridian" })
  minio_endpoint = "http://minio.${module.meridian.namespace}.svc.cluster.local:9000"
  minio_bucket   = "meridian"
}

resource "kubernetes_secret_v1" "minio" {
  metadata {
    name      = "minio-root"
    namespace = module.meridian.namespace
    labels    = local.minio_labels
  }

  data = {
    MINIO_ROOT_USER     = "meridian"
    MINIO_ROOT_PASSWORD = random_password.minio.result
  }
}

resource "kubernetes_service_v1" "minio" {
  metadata {
    name      = "minio"
    namespace = module.meridian.namespace
    labels    = local.minio_labels
  }

  spec {
    selector = { "app.kubernetes.io/name" = "minio" }

    port {
      name        = "s3"
      port        = 9000
      target_port = "s3"
    }
  }
}

resource "kubernetes_stateful_set_v1" "minio" {
  #checkov:skip=CKV_K8S_14:var.minio_image cannot be resolved statically; its validation requires a digest.
  #checkov:skip=CKV_K8S_43:var.minio_image cannot be resolved statically; its validation requires a digest.
  #checkov:skip=CKV_K8S_35:MinIO reads its root credentials from environment variables only; they come from a Secret.
  metadata {
    name      = "minio"
    namespace = module.meridian.namespace
    labels    = local.minio_labels
  }

  spec {
    service_name = kubernetes_service_v1.minio.metadata[0].name
    replicas     = 1

    selector {
      match_labels = { "app.kubernetes.io/name" = "minio" }
    }

    template {
      metadata {
        labels = local.minio_labels
      }

      spec {
        automount_service_account_token = false

        security_context {
          run_as_non_root = true
          run_as_user     = 10001
          run_as_group    = 10001
          fs_group        = 10001
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name              = "minio"
          image             = var.minio_image
          image_pull_policy = "Always"
          args              = ["server", "/data", "--address", ":9000", "--certs-dir", "/tmp/certs"]

          port {
            name           = "s3"
            container_port = 9000
          }

          env_from {
            secret_ref {
              name = kubernetes_secret_v1.minio.metadata[0].name
            }
          }

          resources {
            requests = { cpu = "250m", memory = "512Mi" }
            limits   = { cpu = "2", memory = "2Gi" }
          }

          liveness_probe {
            http_get {
              path = "/minio/health/live"
              port = "s3"
            }
            period_seconds = 10
          }

          readiness_probe {
            http_get {
              path = "/minio/health/ready"
              port = "s3"
            }
            period_seconds = 5
          }

          security_context {
            allow_privilege_escalation = false
            privileged                 = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "data"
            mount_path = "/data"
          }

          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
        }

        volume {
          name = "tmp"
          empty_dir {}
        }
      }
    }

    volume_claim_template {
      metadata {
        name = "data"
      }
      spec {
        access_modes       = ["ReadWriteOnce"]
        storage_class_name = "managed-csi-premium"
        resources {
          requests = { storage = var.minio_storage_size }
        }
      }
    }
  }
}

# Creates the bucket once MinIO answers (idempotent: --ignore-existing).
resource "kubernetes_job_v1" "minio_bucket" {
  #checkov:skip=CKV_K8S_14:var.minio_client_image cannot be resolved statically; its validation requires a digest.
  #checkov:skip=CKV_K8S_43:var.minio_client_image cannot be resolved statically; its validation requires a digest.
  #checkov:skip=CKV_K8S_35:mc reads the alias's credentials from MC_HOST_<alias> only; it comes from a Secret.
  metadata {
    name      = "minio-create-bucket"
    namespace = module.meridian.namespace
    labels    = local.minio_labels
  }

  spec {
    backoff_limit = 10

    template {
      metadata {
        labels = merge(local.minio_labels, { "app.kubernetes.io/name" = "minio-create-bucket" })
      }

      spec {
        restart_policy                  = "OnFailure"
        automount_service_account_token = false

        security_context {
          run_as_non_root = true
          run_as_user     = 10001
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name              = "mc"
          image             = var.minio_client_image
          image_pull_policy = "Always"
          command           = ["mc", "--config-dir", "/tmp/mc", "mb", "--ignore-existing", "minio/${local.minio_bucket}"]

          env {
            name = "MC_HOST_minio"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.minio_client.metadata[0].name
                key  = "MC_HOST_minio"
              }
            }
          }

          resources {
            requests = { cpu = "50m", memory = "64Mi" }
            limits   = { cpu = "200m", memory = "128Mi" }
          }

          security_context {
            allow_privilege_escalation = false
            privileged                 = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
        }

        volume {
          name = "tmp"
          empty_dir {}
        }
      }
    }
  }

  wait_for_completion = true

  timeouts {
    create = "10m"
  }

  depends_on = [kubernetes_stateful_set_v1.minio]
}

resource "kubernetes_secret_v1" "minio_client" {
  metadata {
    name      = "minio-client"
    namespace = module.meridian.namespace
    labels    = local.minio_labels
  }

  data = {
    MC_HOST_minio = "http://meridian:${random_password.minio.result}@minio.${module.meridian.namespace}.svc.cluster.local:9000"
  }
}
