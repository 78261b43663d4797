# Pub/Sub: the notifications topic, the worker's push subscription (retries, dead-lettering) and the dead-letter topic.
#
# Why an explicit push subscription instead of an Eventarc trigger on the function: an Eventarc
# Pub/Sub trigger creates and owns its subscription, and Terraform can set neither its dead-letter
# policy nor its retry backoff nor its ack deadline (changing it by hand drifts and is undone on the
# next deploy). A push subscription we own gives all three, delivers to the worker's Cloud Run URL
# with an OIDC token of a dedicated identity, and is what the local stack already exercises with
# the Pub/Sub emulator. functions-framework turns the push body into the CloudEvent `syncWorker`
# registers for; it reads the topic from the endpoint path, hence /projects/P/topics/T.

resource "google_pubsub_topic" "notifications" {
  name   = var.topic_name
  labels = local.labels

  # A day of published messages stays replayable with `gcloud pubsub subscriptions seek --time`
  # (e.g. after a bad worker release acknowledged messages it should not have).
  message_retention_duration = "86400s"

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  name   = "${var.topic_name}-dead-letter"
  labels = local.labels

  depends_on = [google_project_service.apis]
}

# Without a subscription a dead-lettered message would be dropped: keep them for inspection and replay.
resource "google_pubsub_subscription" "dead_letter" {
  name                       = "${var.topic_name}-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  labels                     = local.labels
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s" # 7 days, the maximum

  expiration_policy {
    ttl = "" # never expires, however quiet
  }
}

resource "google_pubsub_subscription" "sync_worker" {
  name   = "${var.topic_name}-sync-worker"
  topic  = google_pubsub_topic.notifications.id
  labels = local.labels

  # For push this is the HTTP timeout of a delivery: at least the worker's 540 s timeout, so a
  # long full sync is not redelivered (and leased twice) while it is still running.
  ack_deadline_seconds = 600

  # Unacknowledged messages survive a week-long worker outage; the safety net covers anything older.
  message_retention_duration = "604800s"
  retain_acked_messages      = false

  # No message ordering: the per-calendar lease and `pending` flag serialise syncs, and an ordering
  # key would block a calendar's later messages behind a failing one.
  enable_message_ordering = false

  expiration_policy {
    ttl = "" # the default (31 days of inactivity) would delete a quiet deployment's subscription
  }

  # Failed deliveries (Google 429/5xx beyond the worker's own retry budget) back off exponentially.
  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.functions["sync_worker"].service_config[0].uri}/projects/${var.project_id}/topics/${var.topic_name}"

    oidc_token {
      service_account_email = google_service_account.pubsub_push.email
      # Cloud Run checks the audience against the service URL (the endpoint includes a path).
      audience = google_cloudfunctions2_function.functions["sync_worker"].service_config[0].uri
    }
  }

  depends_on = [
    google_cloud_run_service_iam_member.worker_invoker,
    google_service_account_iam_member.pubsub_token_creator,
  ]
}
