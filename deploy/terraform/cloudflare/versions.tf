terraform {
  required_version = ">= 1.10"

  # Partial configuration: bucket, key and region come from `terraform init -backend-config=backend.hcl`.
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }

  required_providers {
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "~> 5.20"
    }
  }
}

# The API token comes from the environment (CLOUDFLARE_API_TOKEN), never from a variable: it needs
# Account > Load Balancing: Monitors and Pools > Edit, Zone > Load Balancers > Edit and Zone > DNS > Edit.
provider "cloudflare" {}
