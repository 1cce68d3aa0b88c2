resource "google_compute_network" "meridian" {
  name                    = var.name
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

resource "google_compute_subnetwork" "meridian" {
  name                     = "${var.name}-${var.region}"
  network                  = google_compute_network.meridian.id
  region                   = var.region
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true

  secondary_ip_range {
    range_name    = "pods"
    ip_cidr_range = var.pods_cidr
  }

  secondary_ip_range {
    range_name    = "services"
    ip_cidr_range = var.services_cidr
  }

  log_config {
    aggregation_interval = "INTERVAL_5_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Outbound traffic of the private nodes (webhooks, SMTP relays) leaves through Cloud NAT.
resource "google_compute_router" "meridian" {
  name    = var.name
  network = google_compute_network.meridian.id
  region  = var.region
}

resource "google_compute_router_nat" "meridian" {
  name                               = var.name
  router                             = google_compute_router.meridian.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

# Dataproc's nodes talk to each other on every port (YARN, HDFS, Flink).
resource "google_compute_firewall" "dataproc_internal" {
  name        = "${var.name}-dataproc-internal"
  network     = google_compute_network.meridian.id
  direction   = "INGRESS"
  source_tags = ["${var.name}-dataproc"]
  target_tags = ["${var.name}-dataproc"]
  priority    = 1000

  allow {
    protocol = "tcp"
  }

  allow {
    protocol = "udp"
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

# Private service access: Cloud SQL gets an address in this range, peered with the VPC.
resource "google_compute_global_address" "private_services" {
  name          = "${var.name}-private-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 16
  network       = google_compute_network.meridian.id
}

resource "google_service_networking_connection" "private_services" {
  network                 = google_compute_network.meridian.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
}
