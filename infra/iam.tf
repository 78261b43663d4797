# Service accounts (one per function, plus push, scheduler and build identities) and least-privilege grants.

resource "google_service_account" "functions" {
  for_each = local.function_names

  account_id   = each.value # e.g. calsync-sync-worker (6-30 chars)
  display_name = "calsync ${each.key} function"
  description  = "Runtime identity of the ${each.key} Cloud Function."
}

# Identity Pub/Sub uses to sign the OIDC token of each push to the worker.
resource "google_service_account" "pubsub_push" {
  account_id   = "${var.name_prefix}-pubsub-push"
  display_name = "calsync Pub/Sub push to syncWorker"
}

# Identity Cloud Scheduler uses to sign the OIDC token of each call to renewChannels.
resource "google_service_account" "scheduler" {
  account_id   = "${var.name_prefix}-scheduler"
  display_name = "calsync Cloud Scheduler to renewChannels"
}

# Identity of the Cloud Build runs that turn the source archive into function images (projects
# created since 2024 no longer give the default compute account the rights it needs).
resource "google_service_account" "build" {
  account_id   = "${var.name_prefix}-build"
  display_name = "calsync function builds"
}

resource "google_project_iam_member" "build" {
  for_each = toset(["roles/cloudbuild.builds.builder", "roles/logging.logWriter"])

  project = var.project_id
  role    = each.value
  member  = google_service_account.build.member
}

# --- Firestore: the worker and the renewer read and write documents; the webhook never touches Firestore.
# Firestore IAM stops at the database, so this is project level (datastore.user: no admin, no index changes).
resource "google_project_iam_member" "firestore_user" {
  for_each = toset(["sync_worker", "renew_channels"])

  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.functions[each.value].member
}

# --- Pub/Sub publishing: the webhook (notifications) and the renewer (recovery / safety-net resyncs),
# on this one topic only. The worker never publishes: a change arriving mid-sync sets `pending` instead.
resource "google_pubsub_topic_iam_member" "publishers" {
  for_each = toset(["webhook", "renew_channels"])

  topic  = google_pubsub_topic.notifications.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.functions[each.value].member
}

# --- Invokers. Only the webhook is public: Google's push notifications carry no credentials.
resource "google_cloud_run_service_iam_member" "webhook_public" {
  location = var.region
  service  = google_cloudfunctions2_function.functions["webhook"].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_service_iam_member" "worker_invoker" {
  location = var.region
  service  = google_cloudfunctions2_function.functions["sync_worker"].name
  role     = "roles/run.invoker"
  member   = google_service_account.pubsub_push.member
}

resource "google_cloud_run_service_iam_member" "renewer_invoker" {
  location = var.region
  service  = google_cloudfunctions2_function.functions["renew_channels"].name
  role     = "roles/run.invoker"
  member   = google_service_account.scheduler.member
}

# --- Pub/Sub service agent: mint OIDC tokens as the push identity, and move a message that failed
# max_delivery_attempts times to the dead-letter topic (publisher there, subscriber on the source).
resource "google_service_account_iam_member" "pubsub_token_creator" {
  service_account_id = google_service_account.pubsub_push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_source_subscriber" {
  subscription = google_pubsub_subscription.sync_worker.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
