# Amazon MSK: TLS everywhere, SASL/SCRAM (port 9096) with the credentials in Secrets Manager, encrypted at rest.
resource "aws_msk_cluster" "main" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = length(local.azs)

  broker_node_group_info {
    instance_type   = var.kafka_instance_type
    client_subnets  = module.vpc.private_subnets
    security_groups = [aws_security_group.kafka.id]

    storage_info {
      ebs_storage_info {
        volume_size = var.kafka_volume_size
      }
    }

    connectivity_info {
      public_access {
        type = "DISABLED"
      }
    }
  }

  client_authentication {
    unauthenticated = false
    sasl {
      scram = true
    }
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = aws_kms_key.main.arn
    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.main.arn
    revision = aws_msk_configuration.main.latest_revision
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.kafka.name
      }
    }
  }
}

# Meridian creates its topics at start (CreateTopics); nothing else may create one by accident.
resource "aws_msk_configuration" "main" {
  name           = var.name
  kafka_versions = [var.kafka_version]

  server_properties = <<-EOT
    auto.create.topics.enable=false
    default.replication.factor=3
    min.insync.replicas=2
    unclean.leader.election.enable=false
  EOT
}

resource "aws_cloudwatch_log_group" "kafka" {
  name              = "/aws/msk/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_security_group" "kafka" {
  name_prefix = "${var.name}-kafka-"
  description = "MSK brokers: SASL/SCRAM over TLS from the EKS nodes and the image function"
  vpc_id      = module.vpc.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "kafka" {
  for_each = {
    nodes    = module.eks.node_security_group_id
    function = aws_security_group.image_function.id
  }

  security_group_id            = aws_security_group.kafka.id
  description                  = "Kafka SASL/SCRAM over TLS from the ${each.key}"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 9096
  to_port                      = 9096
}

# The SCRAM credentials. MSK requires the secret's name to start with AmazonMSK_ and a customer managed key.
# The image function needs the password in its environment (Meridian reads it from MERIDIAN_KAFKA_PROPERTY_*),
# so it is generated here and sits in the (encrypted) state; see README.md.
resource "random_password" "kafka" {
  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "kafka" {
  #checkov:skip=CKV2_AWS_57:MSK SCRAM credentials have no managed rotation; rotating means a new version and restarting every client, done by the operator.
  name_prefix = "AmazonMSK_${var.name}-"
  description = "SASL/SCRAM credentials of Meridian on MSK"
  kms_key_id  = aws_kms_key.main.arn
}

resource "aws_secretsmanager_secret_version" "kafka" {
  secret_id     = aws_secretsmanager_secret.kafka.id
  secret_string = jsonencode({ username = local.kafka_username, password = random_password.kafka.result })
}

data "aws_iam_policy_document" "kafka_secret" {
  statement {
    sid       = "AWSKafkaResourcePolicy"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.kafka.arn]
    principals {
      type        = "Service"
      identifiers = ["kafka.amazonaws.com"]
    }
  }
}

resource "aws_secretsmanager_secret_policy" "kafka" {
  secret_arn = aws_secretsmanager_secret.kafka.arn
  policy     = data.aws_iam_policy_document.kafka_secret.json
}

resource "aws_msk_scram_secret_association" "main" {
  cluster_arn     = aws_msk_cluster.main.arn
  secret_arn_list = [aws_secretsmanager_secret.kafka.arn]

  depends_on = [aws_secretsmanager_secret_version.kafka, aws_secretsmanager_secret_policy.kafka]
}

locals {
  kafka_username = "meridian"

  # librdkafka settings shared by the pods and the image function (docs/operations.md, "Amazon MSK, SASL/SCRAM").
  kafka_settings = {
    MERIDIAN_EVENT_LOG                        = "kafka"
    MERIDIAN_KAFKA_BROKERS                    = aws_msk_cluster.main.bootstrap_brokers_sasl_scram
    MERIDIAN_KAFKA_PROPERTY_SECURITY_PROTOCOL = "SASL_SSL"
    MERIDIAN_KAFKA_PROPERTY_SASL_MECHANISM    = "SCRAM-SHA-512"
    MERIDIAN_KAFKA_PROPERTY_SASL_USERNAME     = local.kafka_username
    MERIDIAN_KAFKA_REPLICATION_FACTOR         = "3"
  }
}
