output "namespace" {
  description = "The namespace holding Meridian."
  value       = kubernetes_namespace_v1.this.metadata[0].name
}

output "service_names" {
  description = "Service name of each role (role => name); each answers HTTP on port 8080."
  value       = { for role, service in kubernetes_service_v1.role : role => service.metadata[0].name }
}

output "service_urls" {
  description = "In-cluster base URL of each role (role => http://name.namespace.svc.cluster.local:8080)."
  value       = { for role, service in kubernetes_service_v1.role : role => "http://${service.metadata[0].name}.${service.metadata[0].namespace}.svc.cluster.local:8080" }
}

output "service_account_name" {
  description = "ServiceAccount the pods run as (bind cloud identities to it: IRSA trust, workload identity)."
  value       = kubernetes_service_account_v1.this.metadata[0].name
}
