output "load_balancer_id" {
  description = "ID of the shop's load balancer."
  value       = cloudflare_load_balancer.shop.id
}

output "pool_ids" {
  description = "IDs of the cloud and on-premises pools."
  value       = { for name, pool in cloudflare_load_balancer_pool.this : name => pool.id }
}

output "monitor_id" {
  description = "ID of the /ready health monitor."
  value       = cloudflare_load_balancer_monitor.ready.id
}
