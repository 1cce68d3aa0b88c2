# PostgreSQL through the CloudNativePG operator: one primary and streaming replicas, the meridian database owned by
# the meridian user, whose password Terraform generates.

locals {
  postgres_namespace = "postgres"
  postgres_cluster   = "meridian-pg"
  postgres_host      = "${local.postgres_cluster}-rw.${local.postgres_namespace}.svc"
}

resource "helm_release" "cnpg" {
  name             = "cnpg"
  repository       = "https://cloudnative-pg.github.io/charts"
  chart            = "cloudnative-pg"
  version          = var.cnpg_chart_version
  namespace        = "cnpg-system"
  create_namespace = true

  depends_on = [data.talos_cluster_health.this]
}

resource "kubernetes_namespace_v1" "postgres" {
  metadata {
    name = local.postgres_namespace
  }

  depends_on = [data.talos_cluster_health.this]
}

resource "random_password" "postgres" {
  length  = 32
  special = false
}

resource "kubernetes_secret_v1" "postgres_owner" {
  metadata {
    name      = "meridian-db-owner"
    namespace = kubernetes_namespace_v1.postgres.metadata[0].name
  }
  type = "kubernetes.io/basic-auth"
  data = { username = "meridian", password = random_password.postgres.result }
}

resource "kubernetes_manifest" "postgres" {
  manifest = {
    apiVersion = "postgresql.cnpg.io/v1"
    kind       = "Cluster"
    metadata   = { name = local.postgres_cluster, namespace = kubernetes_namespace_v1.postgres.metadata[0].name }
    spec = {
      instances = var.postgres_instances
      imageName = var.postgres_image
      storage   = { size = var.postgres_volume_size, storageClass = var.storage_class }
      bootstrap = {
        initdb = {
          database = "meridian"
          owner    = "meridian"
          secret   = { name = kubernetes_secret_v1.postgres_owner.metadata[0].name }
        }
      }
      postgresql = { parameters = { max_connections = "300" } }
    }
  }

  depends_on = [helm_release.cnpg]
}
