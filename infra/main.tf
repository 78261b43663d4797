# Shared locals (names, labels), the project lookup and the Google APIs calsync needs.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  labels = merge({ app = "calsync", managed-by = "terraform" }, var.labels)

  # Cloud Run service names are lowercase; the function name becomes the service name.
  function_names = {
    webhook        = "${var.name_prefix}-webhook"
    sync_worker    = "${var.name_prefix}-sync-worker"
    renew_channels = "${var.name_prefix}-renew-channels"
  }

  # A 2nd gen function is reachable at this stable address as well as at its run.app URL. Computed
  # (not read from the webhook resource) so the renewer's configuration does not depend on it.
  default_webhook_url = "https://${var.region}-${var.project_id}.cloudfunctions.net/${local.function_names.webhook}"
  webhook_url         = var.webhook_url != "" ? var.webhook_url : local.default_webhook_url

  # Pub/Sub's Google-managed service agent: creates OIDC tokens for push, forwards to the dead-letter topic.
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  apis = [
    "artifactregistry.googleapis.com", # images built from the function source
    "calendar-json.googleapis.com",    # Google Calendar API (events.list / events.watch / channels.stop)
    "cloudbuild.googleapis.com",       # builds the function images
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "firebaserules.googleapis.com", # deploys infra/firestore.rules
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com", # OIDC tokens for Pub/Sub push and Scheduler
    "logging.googleapis.com",
    "monitoring.googleapis.com", # alert policies and the dashboard (monitoring.tf)
    "pubsub.googleapis.com",
    "run.googleapis.com", # 2nd gen functions run on Cloud Run
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]
}

resource "google_project_service" "apis" {
  for_each = var.enable_apis ? toset(local.apis) : toset([])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false # other workloads in the project may rely on them
}
