# Object storage through the MinIO operator: one tenant, one bucket, a user for Meridian (not the root account).

locals {
  minio_namespace = "minio-tenant"
  minio_bucket    = "meridian"
}

resource "helm_release" "minio_operator" {
  name             = "minio-operator"
  repository       = "https://operator.min.io"
  chart            = "operator"
  version          = var.minio_chart_version
  namespace        = "minio-operator"
  create_namespace = true

  depends_on = [data.talos_cluster_health.this]
}

resource "kubernetes_namespace_v1" "minio" {
  metadata {
    name = local.minio_namespace
  }

  depends_on = [data.talos_cluster_health.this]
}

resource "random_password" "minio_root" {
  length  = 40
  special = false
}

resource "random_password" "minio_user" {
  length  = 40
  special = false
}

resource "kubernetes_secret_v1" "minio_config" {
  metadata {
    name      = "meridian-minio-env"
    namespace = kubernetes_namespace_v1.minio.metadata[0].name
  }
  data = {
    "config.env" = "export MINIO_ROOT_USER=root\nexport MINIO_ROOT_PASSWORD=${random_password.minio_root.result}\n"
  }
}

# The operator creates this user in the tenant from the secret's CONSOLE_* keys.
resource "kubernetes_secret_v1" "minio_user" {
  metadata {
    name      = "meridian-minio-user"
    namespace = kubernetes_namespace_v1.minio.metadata[0].name
  }
  data = {
    CONSOLE_ACCESS_KEY = "meridian"
    CONSOLE_SECRET_KEY = random_password.minio_user.result
  }
}

resource "helm_release" "minio_tenant" {
  name       = "meridian"
  repository = "https://operator.min.io"
  chart      = "tenant"
  version    = var.minio_chart_version
  namespace  = kubernetes_namespace_v1.minio.metadata[0].name

  values = [yamlencode({
    tenant = {
      name         = "meridian"
      configSecret = { name = kubernetes_secret_v1.minio_config.metadata[0].name, existingSecret = true }
      pools = [{
        name             = "pool-0"
        servers          = var.minio_servers
        volumesPerServer = 1
        size             = var.minio_volume_size
        storageClassName = var.storage_class
      }]
      # In-cluster HTTP: Meridian would have to trust the operator's CA for HTTPS, and has no setting for one.
      certificate = { requestAutoCert = false }
      buckets     = [{ name = local.minio_bucket }]
      users       = [{ name = kubernetes_secret_v1.minio_user.metadata[0].name }]
    }
  })]

  depends_on = [helm_release.minio_operator]
}
