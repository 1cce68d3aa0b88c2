locals {
  namespace   = "meridian"
  objects_url = "s3://${aws_s3_bucket.objects.bucket}?region=${var.region}"
}

# The pods' identity (IRSA): the objects bucket and the analytics table, nothing else.
resource "aws_iam_role" "meridian" {
  name_prefix        = "${var.name}-pods-"
  assume_role_policy = data.aws_iam_policy_document.meridian_assume.json
}

data "aws_iam_policy_document" "meridian_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [module.eks.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:sub"
      values   = ["system:serviceaccount:${local.namespace}:meridian"]
    }
    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "meridian" {
  statement {
    sid       = "Objects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.objects.arn}/*"]
  }

  # Lets a missing key answer 404 rather than 403.
  statement {
    sid       = "ListObjects"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.objects.arn]
  }

  statement {
    sid       = "BucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }

  statement {
    sid       = "AnalyticsSink"
    actions   = ["dynamodb:PutItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.analytics.arn]
  }
}

resource "aws_iam_role_policy" "meridian" {
  name   = "meridian"
  role   = aws_iam_role.meridian.id
  policy = data.aws_iam_policy_document.meridian.json
}

# The HS256 secret every process shares (auth.jwtSecret), generated without ever entering the state.
ephemeral "random_password" "jwt" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "jwt" {
  #checkov:skip=CKV2_AWS_57:Rotating the JWT secret signs every user out and needs every process restarted at once; it is an operator's decision, not a schedule.
  name_prefix = "${var.name}/jwt-secret-"
  description = "MERIDIAN_AUTH_JWT_SECRET: the HS256 secret of Meridian's access tokens"
  kms_key_id  = aws_kms_key.main.arn
}

resource "aws_secretsmanager_secret_version" "jwt" {
  secret_id                = aws_secretsmanager_secret.jwt.id
  secret_string_wo         = ephemeral.random_password.jwt.result
  secret_string_wo_version = 1
}

module "app" {
  source = "../modules/k8s-app"

  namespace   = local.namespace
  image       = "${aws_ecr_repository.this["meridian"].repository_url}@${var.image_digest}"
  roles       = var.roles
  secret_name = "meridian"

  settings = merge(local.kafka_settings, {
    MERIDIAN_OBJECTS_URL               = local.objects_url
    MERIDIAN_ANALYTICS_DYNAMODB_TABLE  = aws_dynamodb_table.analytics.name
    MERIDIAN_ANALYTICS_DYNAMODB_REGION = var.region
    MERIDIAN_GATEWAY_CORS_ORIGIN       = "https://${var.shop_host}"
    MERIDIAN_HTTP_TRUSTED_PROXIES      = var.vpc_cidr # the ALB forwards from inside the VPC (target type ip)
    MERIDIAN_STORAGE_MAX_CONNECTIONS   = "10"
  }, var.settings)

  service_account_annotations = { "eks.amazonaws.com/role-arn" = aws_iam_role.meridian.arn }

  ingress_host  = var.shop_host
  ingress_class = "alb"
  ingress_annotations = {
    "alb.ingress.kubernetes.io/scheme"           = "internet-facing"
    "alb.ingress.kubernetes.io/target-type"      = "ip"
    "alb.ingress.kubernetes.io/listen-ports"     = jsonencode([{ HTTPS = 443 }])
    "alb.ingress.kubernetes.io/certificate-arn"  = var.certificate_arn
    "alb.ingress.kubernetes.io/ssl-policy"       = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    "alb.ingress.kubernetes.io/healthcheck-path" = "/ready"
  }

  labels = { environment = terraform.workspace }

  depends_on = [module.eks, aws_msk_scram_secret_association.main]
}
