# Images are pushed by CI and referenced by digest; tags cannot be moved.
resource "aws_ecr_repository" "this" {
  for_each = toset(["meridian", "meridian-image-function"])

  name                 = each.key
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.main.arn
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Expire untagged images (every deployed image is tagged)"
      selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 14 }
      action       = { type = "expire" }
    }]
  })
}

# Lambda pulls the function's image with its service principal.
resource "aws_ecr_repository_policy" "image_function" {
  repository = aws_ecr_repository.this["meridian-image-function"].name
  policy     = data.aws_iam_policy_document.lambda_pulls.json
}

data "aws_iam_policy_document" "lambda_pulls" {
  statement {
    sid     = "LambdaPull"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "aws:sourceArn"
      values   = ["arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${var.name}-image-function"]
    }
  }
}

# The image function (the Dockerfile's `lambda` target): S3 ObjectCreated under uploads/ -> variants under processed/ and
# product-images.processed events on MSK.
resource "aws_lambda_function" "image_function" {
  #checkov:skip=CKV_AWS_272:Lambda code signing applies to .zip packages only; this is a container image pinned by digest from an immutable, scanned ECR repository.
  function_name = "${var.name}-image-function"
  role          = aws_iam_role.image_function.arn
  package_type  = "Image"
  image_uri     = "${aws_ecr_repository.this["meridian-image-function"].repository_url}@${var.function_image_digest}"
  architectures = [var.function_architecture]
  memory_size   = 512
  timeout       = 60
  kms_key_arn   = aws_kms_key.main.arn

  reserved_concurrent_executions = var.function_reserved_concurrency

  environment {
    variables = merge(local.kafka_settings, {
      MERIDIAN_OBJECTS_URL                  = local.objects_url
      MERIDIAN_KAFKA_PROPERTY_SASL_PASSWORD = random_password.kafka.result
    })
  }

  vpc_config {
    subnet_ids         = module.vpc.private_subnets
    security_group_ids = [aws_security_group.image_function.id]
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.image_function_dlq.arn
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.image_function.name
  }

  depends_on = [aws_iam_role_policy.image_function, aws_iam_role_policy_attachment.image_function, aws_ecr_repository_policy.image_function]
}

# Lambda retries a failed asynchronous invocation twice, then sends the event to the dead-letter queue.
resource "aws_lambda_function_event_invoke_config" "image_function" {
  function_name          = aws_lambda_function.image_function.function_name
  maximum_retry_attempts = 2
}

resource "aws_lambda_permission" "s3_invokes_image_function" {
  statement_id   = "AllowS3ObjectsBucket"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.image_function.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.objects.arn
  source_account = local.account_id
}

resource "aws_s3_bucket_notification" "uploads" {
  bucket = aws_s3_bucket.objects.id

  lambda_function {
    lambda_function_arn = aws_lambda_function.image_function.arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = "uploads/"
  }

  depends_on = [aws_lambda_permission.s3_invokes_image_function]
}

resource "aws_sqs_queue" "image_function_dlq" {
  name                      = "${var.name}-image-function-dlq"
  message_retention_seconds = 1209600 # 14 days
  kms_master_key_id         = aws_kms_key.main.arn
}

resource "aws_cloudwatch_log_group" "image_function" {
  name              = "/aws/lambda/${var.name}-image-function"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_security_group" "image_function" {
  name_prefix = "${var.name}-image-function-"
  description = "Image function: out to MSK and to S3 through the gateway endpoint only"
  vpc_id      = module.vpc.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "function_to_kafka" {
  security_group_id            = aws_security_group.image_function.id
  description                  = "Kafka SASL/SCRAM over TLS to the MSK brokers"
  referenced_security_group_id = aws_security_group.kafka.id
  ip_protocol                  = "tcp"
  from_port                    = 9096
  to_port                      = 9096
}

resource "aws_vpc_security_group_egress_rule" "function_to_s3" {
  security_group_id = aws_security_group.image_function.id
  description       = "HTTPS to S3 through the gateway endpoint"
  prefix_list_id    = aws_vpc_endpoint.s3.prefix_list_id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_iam_role" "image_function" {
  name_prefix        = "${var.name}-image-function-"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# ENIs in the VPC and X-Ray segments (AWS managed policies scoped by AWS).
resource "aws_iam_role_policy_attachment" "image_function" {
  for_each = toset(["service-role/AWSLambdaVPCAccessExecutionRole", "AWSXRayDaemonWriteAccess"])

  role       = aws_iam_role.image_function.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.key}"
}

data "aws_iam_policy_document" "image_function" {
  statement {
    sid       = "ReadUploads"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.objects.arn}/uploads/*"]
  }

  statement {
    sid       = "WriteVariants"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.objects.arn}/processed/*"]
  }

  statement {
    sid       = "BucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.image_function.arn}:*"]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.image_function_dlq.arn]
  }
}

resource "aws_iam_role_policy" "image_function" {
  name   = "image-function"
  role   = aws_iam_role.image_function.id
  policy = data.aws_iam_policy_document.image_function.json
}
