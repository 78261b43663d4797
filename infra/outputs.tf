# Outputs: the webhook address, topic and subscription names, identities, secret ids.

output "webhook_url" {
  description = "Public URL of the webhook function (what events.watch is given unless webhook_url is set)."
  value       = google_cloudfunctions2_function.functions["webhook"].url
}

output "calsync_webhook_url" {
  description = "CALSYNC_WEBHOOK_URL given to the renewer (and to use with the calsync CLI)."
  value       = local.webhook_url
}

output "topic" {
  description = "Notifications topic (CALSYNC_TOPIC)."
  value       = google_pubsub_topic.notifications.name
}

output "dead_letter_topic" {
  value = google_pubsub_topic.dead_letter.name
}

output "dead_letter_subscription" {
  description = "Pull subscription holding messages the worker failed max_delivery_attempts times."
  value       = google_pubsub_subscription.dead_letter.name
}

output "worker_subscription" {
  value = google_pubsub_subscription.sync_worker.name
}

output "function_names" {
  value = { for k, f in google_cloudfunctions2_function.functions : k => f.name }
}

output "function_service_accounts" {
  value = { for k, sa in google_service_account.functions : k => sa.email }
}

output "secret_ids" {
  description = "Environment variable => Secret Manager secret id; add versions with gcloud (see README)."
  value       = local.secret_ids
}

output "scheduler_job" {
  value = google_cloud_scheduler_job.renew_channels.name
}
