locals {
  bootstrap_node = values(var.control_plane_nodes)[0]

  common_patch = yamlencode({
    machine = {
      install = {
        disk  = var.install_disk
        image = "ghcr.io/siderolabs/installer:${var.talos_version}"
      }
      kubelet = {
        nodeIP = { validSubnets = [var.node_subnet] }
      }
    }
    cluster = {
      network = {
        cni            = { name = var.cni }
        podSubnets     = [var.pod_subnet]
        serviceSubnets = [var.service_subnet]
      }
    }
  })

  control_plane_patch = yamlencode({
    machine = {
      network = var.control_plane_vip == null ? {} : {
        interfaces = [{ deviceSelector = { physical = true }, dhcp = true, vip = { ip = var.control_plane_vip } }]
      }
    }
    cluster = {
      etcd = { advertisedSubnets = [var.node_subnet] }
      # Without workers, the control plane nodes run the workloads too.
      allowSchedulingOnControlPlanes = length(var.worker_nodes) == 0
    }
  })

  nodes = merge(
    { for name, ip in var.control_plane_nodes : name => { ip = ip, type = "controlplane" } },
    { for name, ip in var.worker_nodes : name => { ip = ip, type = "worker" } },
  )
}

resource "talos_machine_secrets" "this" {
  talos_version = var.talos_version
}

data "talos_machine_configuration" "this" {
  for_each = toset(["controlplane", "worker"])

  cluster_name       = var.cluster_name
  cluster_endpoint   = var.cluster_endpoint
  machine_type       = each.key
  machine_secrets    = talos_machine_secrets.this.machine_secrets
  talos_version      = var.talos_version
  kubernetes_version = var.kubernetes_version
  config_patches     = each.key == "controlplane" ? [local.common_patch, local.control_plane_patch] : [local.common_patch]
}

data "talos_client_configuration" "this" {
  cluster_name         = var.cluster_name
  client_configuration = talos_machine_secrets.this.client_configuration
  endpoints            = values(var.control_plane_nodes)
  nodes                = [for node in local.nodes : node.ip]
}

resource "talos_machine_configuration_apply" "node" {
  for_each = local.nodes

  client_configuration        = talos_machine_secrets.this.client_configuration
  machine_configuration_input = data.talos_machine_configuration.this[each.value.type].machine_configuration
  node                        = each.value.ip
  config_patches              = [yamlencode({ machine = { network = { hostname = each.key } } })]
}

resource "talos_machine_bootstrap" "this" {
  client_configuration = talos_machine_secrets.this.client_configuration
  node                 = local.bootstrap_node

  depends_on = [talos_machine_configuration_apply.node]
}

resource "talos_cluster_kubeconfig" "this" {
  client_configuration = talos_machine_secrets.this.client_configuration
  node                 = local.bootstrap_node

  depends_on = [talos_machine_bootstrap.this]
}

# Waits until etcd, the control plane and every node are healthy before anything is installed in the cluster.
data "talos_cluster_health" "this" {
  client_configuration = talos_machine_secrets.this.client_configuration
  endpoints            = values(var.control_plane_nodes)
  control_plane_nodes  = values(var.control_plane_nodes)
  worker_nodes         = values(var.worker_nodes)

  depends_on = [talos_cluster_kubeconfig.this]
}
