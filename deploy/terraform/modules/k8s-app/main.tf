locals {
  port = 8080

  common_labels = merge(var.labels, {
    "app.kubernetes.io/name"       = "meridian"
    "app.kubernetes.io/part-of"    = "meridian"
    "app.kubernetes.io/managed-by" = "terraform"
  })

  service_names = { for role in keys(var.roles) : role => "meridian-${role}" }

  # Split mode: every role but the gateway and images is reached at MERIDIAN_SERVICES_<ROLE>_URL.
  service_urls = {
    for role, name in local.service_names :
    "MERIDIAN_SERVICES_${upper(replace(role, "-", "_"))}_URL" => "http://${name}.${var.namespace}.svc.cluster.local:${local.port}"
    if !contains(["gateway", "images"], role)
  }

  settings = merge(
    {
      MERIDIAN_DATA_DIR   = "/tmp/meridian" # the root file system is read-only
      MERIDIAN_LOG_FORMAT = "json"
    },
    local.service_urls,
    var.settings,
  )

  # The public prefixes each role serves (Sources/MeridianApp/Gateway+build.swift); the gateway takes the rest.
  public_paths = {
    gateway       = ["/"]
    ingestor      = ["/events"]
    users         = ["/api/users", "/api/auth"]
    products      = ["/api/products"]
    carts         = ["/api/cart"]
    orders        = ["/api/orders"]
    payments      = ["/api/payments"]
    notifications = ["/api/notifications"]
    "ingest-jobs" = ["/api/ingest"]
    analytics     = ["/api/analytics"]
  }

  ingress_paths = merge([
    for role, spec in var.roles : { for path in local.public_paths[role] : path => role } if spec.expose
  ]...)
}

resource "kubernetes_namespace_v1" "this" {
  metadata {
    name   = var.namespace
    labels = local.common_labels
  }
}

resource "kubernetes_service_account_v1" "this" {
  metadata {
    name        = "meridian"
    namespace   = kubernetes_namespace_v1.this.metadata[0].name
    labels      = local.common_labels
    annotations = var.service_account_annotations
  }
  automount_service_account_token = false
}

resource "kubernetes_config_map_v1" "settings" {
  metadata {
    name      = "meridian-settings"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.common_labels
  }
  data = local.settings
}

resource "kubernetes_deployment_v1" "role" {
  for_each = var.roles

  #checkov:skip=CKV_K8S_14:var.image cannot be resolved statically; its validation requires a digest (@sha256:...).
  #checkov:skip=CKV_K8S_43:var.image cannot be resolved statically; its validation requires a digest (@sha256:...).
  #checkov:skip=CKV_K8S_15:The image is pinned by digest, so IfNotPresent can only run that exact image; Always would make every pod start depend on the registry.
  #checkov:skip=CKV_K8S_35:Meridian reads its settings, secrets included, from MERIDIAN_* environment variables; the values stay in a Secret, never in the manifest or the state.
  metadata {
    name      = local.service_names[each.key]
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = merge(local.common_labels, { "app.kubernetes.io/component" = each.key })
  }

  spec {
    # With an HPA, leave the count to it.
    replicas = each.value.autoscale ? null : each.value.replicas

    selector {
      match_labels = {
        "app.kubernetes.io/name"      = "meridian"
        "app.kubernetes.io/component" = each.key
      }
    }

    strategy {
      type = "RollingUpdate"
      rolling_update {
        max_surge       = "25%"
        max_unavailable = "0"
      }
    }

    template {
      metadata {
        labels = merge(local.common_labels, { "app.kubernetes.io/component" = each.key })
        annotations = {
          # A change of settings rolls the pods.
          "meridian.dev/settings-sha256" = sha256(jsonencode(local.settings))
          "prometheus.io/scrape"         = "true"
          "prometheus.io/port"           = tostring(local.port)
          "prometheus.io/path"           = "/metrics"
        }
      }

      spec {
        service_account_name             = kubernetes_service_account_v1.this.metadata[0].name
        automount_service_account_token  = false
        termination_grace_period_seconds = 40 # above shutdown.timeoutSeconds (30): drain, stop, flush

        security_context {
          run_as_non_root = true
          run_as_user     = 10001
          run_as_group    = 10001
          fs_group        = 10001
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        topology_spread_constraint {
          max_skew           = 1
          topology_key       = "topology.kubernetes.io/zone"
          when_unsatisfiable = "ScheduleAnyway"
          label_selector {
            match_labels = {
              "app.kubernetes.io/name"      = "meridian"
              "app.kubernetes.io/component" = each.key
            }
          }
        }

        container {
          name              = "meridian"
          image             = var.image
          image_pull_policy = "IfNotPresent"
          command           = ["/usr/local/bin/meridian"]
          args              = ["serve", "--role", each.key, "--host", "0.0.0.0", "--port", tostring(local.port)]

          port {
            name           = "http"
            container_port = local.port
          }

          env_from {
            config_map_ref {
              name = kubernetes_config_map_v1.settings.metadata[0].name
            }
          }
          # Listed last, so a key in both wins from the Secret.
          env_from {
            secret_ref {
              name = var.secret_name
            }
          }

          resources {
            requests = {
              cpu    = each.value.cpu_request
              memory = each.value.memory_request
            }
            limits = {
              cpu    = each.value.cpu_limit
              memory = each.value.memory_limit
            }
          }

          liveness_probe {
            http_get {
              path = "/health"
              port = "http"
            }
            initial_delay_seconds = 10
            period_seconds        = 10
            failure_threshold     = 3
          }

          readiness_probe {
            http_get {
              path = "/ready"
              port = "http"
            }
            period_seconds    = 5
            failure_threshold = 2
          }

          security_context {
            allow_privilege_escalation = false
            privileged                 = false
            read_only_root_filesystem  = true
            run_as_non_root            = true
            run_as_user                = 10001
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
          empty_dir {
            size_limit = "256Mi"
          }
        }
      }
    }
  }
}

resource "kubernetes_service_v1" "role" {
  for_each = var.roles

  metadata {
    name      = local.service_names[each.key]
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = merge(local.common_labels, { "app.kubernetes.io/component" = each.key })
  }

  spec {
    type = "ClusterIP"
    selector = {
      "app.kubernetes.io/name"      = "meridian"
      "app.kubernetes.io/component" = each.key
    }
    port {
      name        = "http"
      port        = local.port
      target_port = "http"
    }
  }
}

resource "kubernetes_horizontal_pod_autoscaler_v2" "role" {
  for_each = { for role, spec in var.roles : role => spec if spec.autoscale }

  metadata {
    name      = local.service_names[each.key]
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = merge(local.common_labels, { "app.kubernetes.io/component" = each.key })
  }

  spec {
    min_replicas = each.value.min_replicas
    max_replicas = each.value.max_replicas

    scale_target_ref {
      api_version = "apps/v1"
      kind        = "Deployment"
      name        = kubernetes_deployment_v1.role[each.key].metadata[0].name
    }

    metric {
      type = "Resource"
      resource {
        name = "cpu"
        target {
          type                = "Utilization"
          average_utilization = 70
        }
      }
    }
  }
}

resource "kubernetes_pod_disruption_budget_v1" "role" {
  for_each = var.roles

  metadata {
    name      = local.service_names[each.key]
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = merge(local.common_labels, { "app.kubernetes.io/component" = each.key })
  }

  spec {
    max_unavailable = "1"
    selector {
      match_labels = {
        "app.kubernetes.io/name"      = "meridian"
        "app.kubernetes.io/component" = each.key
      }
    }
  }
}

resource "kubernetes_ingress_v1" "public" {
  metadata {
    name        = "meridian"
    namespace   = kubernetes_namespace_v1.this.metadata[0].name
    labels      = local.common_labels
    annotations = var.ingress_annotations
  }

  spec {
    ingress_class_name = var.ingress_class

    rule {
      host = var.ingress_host
      http {
        dynamic "path" {
          for_each = local.ingress_paths
          content {
            path      = path.key
            path_type = "Prefix"
            backend {
              service {
                name = kubernetes_service_v1.role[path.value].metadata[0].name
                port {
                  name = "http"
                }
              }
            }
          }
        }
      }
    }
  }
}
