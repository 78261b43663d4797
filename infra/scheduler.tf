# Cloud Scheduler: calls renewChannels every hour with an OIDC token of its own service account.

resource "google_cloud_scheduler_job" "renew_channels" {
  name        = "${var.name_prefix}-renew-channels"
  description = "Renew expiring Google Calendar watch channels; enqueue safety-net resyncs."
  region      = var.region
  schedule    = var.renew_schedule
  time_zone   = "Etc/UTC"

  # Scheduler waits this long for the answer; matches the function's 600 s timeout.
  attempt_deadline = "600s"

  # Channels are renewed a CALSYNC_RENEW_WINDOW_SECONDS (default 24 h) ahead, so a failed run is
  # made up by the next hourly one; one retry only smooths over a cold start or a deploy.
  retry_config {
    retry_count          = 1
    min_backoff_duration = "60s"
    max_backoff_duration = "300s"
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.functions["renew_channels"].service_config[0].uri
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode("{}")

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.functions["renew_channels"].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_service_iam_member.renewer_invoker]
}
