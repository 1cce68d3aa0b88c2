# Health of an origin = Meridian's readiness: 200 when the event log and the database answer and the process is not
# draining (docs/operations.md), so a cloud whose Kafka or PostgreSQL is down fails over to the on-premises pool.
resource "cloudflare_load_balancer_monitor" "ready" {
  account_id       = var.account_id
  description      = "Meridian /ready on ${var.shop_hostname}"
  type             = "https"
  method           = "GET"
  path             = "/ready"
  expected_codes   = "200"
  interval         = var.monitor_interval
  timeout          = 5
  retries          = 2
  consecutive_down = 2
  consecutive_up   = 2
  follow_redirects = false
  allow_insecure   = false
  header = {
    Host = [var.shop_hostname]
  }
}

resource "cloudflare_load_balancer_pool" "this" {
  for_each = {
    cloud  = var.cloud_origins
    onprem = var.onprem_origins
  }

  account_id      = var.account_id
  name            = "meridian-${each.key}"
  description     = "Meridian ${each.key == "cloud" ? "cloud (primary)" : "on-premises (fallback)"} origins"
  monitor         = cloudflare_load_balancer_monitor.ready.id
  minimum_origins = 1
  origins = [
    for origin in each.value : {
      name    = origin.name
      address = origin.address
      enabled = true
    }
  ]
}

resource "cloudflare_load_balancer" "shop" {
  zone_id         = var.zone_id
  name            = var.shop_hostname
  description     = "Meridian: the cloud first, on-premises when it is unhealthy"
  proxied         = true
  steering_policy = "off" # failover: default_pools in order
  default_pools = [
    cloudflare_load_balancer_pool.this["cloud"].id,
    cloudflare_load_balancer_pool.this["onprem"].id,
  ]
  fallback_pool    = cloudflare_load_balancer_pool.this["onprem"].id
  session_affinity = "none"
}

# The load balancer takes precedence over a record of the same name. This one gives the host name Universal SSL
# coverage and keeps the shop answering from the cloud if the load balancer is ever disabled.
locals {
  primary_address = var.cloud_origins[0].address
}

resource "cloudflare_dns_record" "shop" {
  zone_id = var.zone_id
  name    = var.shop_hostname
  type    = can(regex("^[0-9.]+$", local.primary_address)) ? "A" : (can(regex(":", local.primary_address)) ? "AAAA" : "CNAME")
  content = local.primary_address
  proxied = true
  ttl     = 1 # automatic, as every proxied record
  comment = "Meridian: served when the load balancer of the same name is disabled"
}
