output "cluster_name" {
  description = "EKS cluster name (`aws eks update-kubeconfig --name <this>`)."
  value       = module.eks.cluster_name
}

output "ecr_repositories" {
  description = "ECR repository URL of the service image and of the image function's image (push, then pass the digests)."
  value       = { for name, repository in aws_ecr_repository.this : name => repository.repository_url }
}

output "kafka_bootstrap_brokers" {
  description = "MSK bootstrap brokers for SASL/SCRAM over TLS (port 9096)."
  value       = aws_msk_cluster.main.bootstrap_brokers_sasl_scram
}

output "kafka_secret_arn" {
  description = "Secrets Manager secret holding the SCRAM username and password (MERIDIAN_KAFKA_PROPERTY_SASL_PASSWORD)."
  value       = aws_secretsmanager_secret.kafka.arn
}

output "jwt_secret_arn" {
  description = "Secrets Manager secret holding MERIDIAN_AUTH_JWT_SECRET."
  value       = aws_secretsmanager_secret.jwt.arn
}

output "db_endpoint" {
  description = "PostgreSQL address:port; MERIDIAN_STORAGE_URL = postgres://meridian:<password>@<this>/meridian?sslmode=require."
  value       = aws_db_instance.main.endpoint
}

output "db_master_secret_arn" {
  description = "Secrets Manager secret (managed and rotated by RDS) holding the database password."
  value       = aws_db_instance.main.master_user_secret[0].secret_arn
}

output "objects_url" {
  description = "MERIDIAN_OBJECTS_URL of the objects bucket."
  value       = local.objects_url
}

output "analytics_table" {
  description = "DynamoDB table of the analytics sink."
  value       = aws_dynamodb_table.analytics.name
}

output "image_function_name" {
  description = "Lambda function that turns uploads/ into processed/ variants."
  value       = aws_lambda_function.image_function.function_name
}

output "pod_role_arn" {
  description = "IAM role the Meridian pods assume through IRSA."
  value       = aws_iam_role.meridian.arn
}

output "namespace" {
  description = "Kubernetes namespace of Meridian (create the Secret `meridian` there)."
  value       = module.app.namespace
}

output "service_names" {
  description = "Kubernetes Service of each role."
  value       = module.app.service_names
}
