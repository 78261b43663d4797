# Alerts and dashboard as code: log-based metrics from the lines functions/log-events.ts names, alert policies, one dashboard.
#
# Every filter below names a `jsonPayload.message` and fields declared in functions/log-events.ts;
# test/unit/infra/log-events.test.ts fails when a metric names a line or field the code no longer
# logs. Logs of 2nd gen functions are Cloud Run revision logs; the 1st gen resource type is kept in
# the scope so a redeploy as 1st gen would not silently empty the metrics.

locals {
  log_scope = "(resource.type=\"cloud_run_revision\" OR resource.type=\"cloud_function\")"

  # Log-based metric name => what it counts (names become logging.googleapis.com/user/<name>).
  metric_names = {
    sync_results          = "${var.name_prefix}_sync_results"
    sync_lag              = "${var.name_prefix}_sync_lag"
    needs_reauth          = "${var.name_prefix}_needs_reauth"
    quarantined_items     = "${var.name_prefix}_quarantined_items"
    renewal_remaining     = "${var.name_prefix}_renewal_remaining"
    renewal_budget_used   = "${var.name_prefix}_renewal_budget_used_up"
    stale_calendars       = "${var.name_prefix}_stale_calendars"
    notification_rejected = "${var.name_prefix}_notification_rejections"
    channel_token_v1      = "${var.name_prefix}_channel_token_v1"
  }
  metric_type = { for k, n in local.metric_names : k => "logging.googleapis.com/user/${n}" }
}

# --- Log-based metrics ------------------------------------------------------------------------

# One line per Pub/Sub message the worker handled (LOG_EVENTS.syncResult), by outcome.
resource "google_logging_metric" "sync_results" {
  name   = local.metric_names.sync_results
  filter = "${local.log_scope} AND jsonPayload.message=\"sync result\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "synced, covered, busy, needs_reauth, removed, failed, error (redelivered), ..."
    }
  }
  label_extractors = { outcome = "EXTRACT(jsonPayload.outcome)" }
}

# Notification (Pub/Sub publish) to mirror committed, in ms, for messages that synced.
resource "google_logging_metric" "sync_lag" {
  name            = local.metric_names.sync_lag
  filter          = "${local.log_scope} AND jsonPayload.message=\"sync result\" AND jsonPayload.outcome=\"synced\" AND jsonPayload.lagMs>=0"
  value_extractor = "EXTRACT(jsonPayload.lagMs)"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"
  }
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 24
      growth_factor      = 2
      scale              = 10 # 10 ms .. ~23 h
    }
  }
}

# Calendars that stopped syncing until a person acts (LOG_EVENTS.needsReauth), by cause.
resource "google_logging_metric" "needs_reauth" {
  name   = local.metric_names.needs_reauth
  filter = "${local.log_scope} AND jsonPayload.message=\"user must re-authorise; syncing stopped\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key         = "code"
      value_type  = "STRING"
      description = "invalid_grant, credentials_unreadable, account_ambiguous"
    }
  }
  label_extractors = { code = "EXTRACT(jsonPayload.code)" }
}

# Items stored trimmed or as stubs (LOG_EVENTS.itemQuarantined), by reason.
resource "google_logging_metric" "quarantined_items" {
  name   = local.metric_names.quarantined_items
  filter = "${local.log_scope} AND jsonPayload.message=\"event quarantined\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key        = "reason"
      value_type = "STRING"
    }
  }
  label_extractors = { reason = "EXTRACT(jsonPayload.reason)" }
}

# Work a renewal run left for the next one (LOG_EVENTS.renewalSummary: summary.remaining).
resource "google_logging_metric" "renewal_remaining" {
  name            = local.metric_names.renewal_remaining
  filter          = "${local.log_scope} AND jsonPayload.message=\"renewChannels summary\""
  value_extractor = "EXTRACT(jsonPayload.summary.remaining)"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "1"
  }
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 20
      growth_factor      = 2
      scale              = 1
    }
  }
}

# Renewal runs that stopped at CALSYNC_RENEW_TIME_BUDGET_SECONDS with work left (LOG_EVENTS.renewalBudgetUsedUp).
resource "google_logging_metric" "renewal_budget_used" {
  name   = local.metric_names.renewal_budget_used
  filter = "${local.log_scope} AND jsonPayload.message=\"renewal time budget used up\" AND jsonPayload.remaining>0"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

# Renewal runs that found calendars not synced within the safety-net period (LOG_EVENTS.staleCalendars).
resource "google_logging_metric" "stale_calendars" {
  name   = local.metric_names.stale_calendars
  filter = "${local.log_scope} AND jsonPayload.message=\"stale calendars\" AND jsonPayload.count>0"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

# Webhook rejections by reason (LOG_EVENTS.notificationRejected). Sampled: a flood shows as the
# per-reason limit per minute per instance; `suppressed` on the next line carries the rest.
resource "google_logging_metric" "notification_rejected" {
  name   = local.metric_names.notification_rejected
  filter = "${local.log_scope} AND jsonPayload.message=\"notification rejected\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key        = "reason"
      value_type = "STRING"
    }
  }
  label_extractors = { reason = "EXTRACT(jsonPayload.reason)" }
}

# Notifications still verified with a v1 channel token (LOG_EVENTS.channelTokenV1; sampled). Zero for
# longer than CALSYNC_CHANNEL_TTL_SECONDS, and `calsync status` saying so: switch v1 off.
resource "google_logging_metric" "channel_token_v1" {
  name   = local.metric_names.channel_token_v1
  filter = "${local.log_scope} AND jsonPayload.message=\"channel token v1 accepted\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

# --- Alert policies ---------------------------------------------------------------------------

# A message the worker could not handle max_delivery_attempts times sits in the dead-letter
# subscription: a change may be missing from the mirror until someone looks (README "Operations").
resource "google_monitoring_alert_policy" "dead_letter" {
  display_name = "calsync: messages in the dead-letter subscription"
  combiner     = "OR"
  conditions {
    display_name = "undelivered dead letters > 0"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${google_pubsub_subscription.dead_letter.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
  notification_channels = var.alert_notification_channels
  documentation {
    content   = "Pull the messages from ${google_pubsub_subscription.dead_letter.name}, read the worker's logs for their subscriptionId, fix, then `calsync resync --full` those calendars."
    mime_type = "text/markdown"
  }
}

# Calendars stale beyond the safety net in two consecutive hourly renewal runs.
resource "google_monitoring_alert_policy" "stale_calendars" {
  display_name = "calsync: calendars not synced within the safety-net period"
  combiner     = "OR"
  conditions {
    display_name = "renewal reports stale calendars for an hour"
    condition_threshold {
      filter          = "metric.type=\"${local.metric_type.stale_calendars}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "3600s"
      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }
  notification_channels = var.alert_notification_channels
  documentation {
    content   = "`calsync status --stale` lists them with the reason and the next retry."
    mime_type = "text/markdown"
  }
  depends_on = [google_logging_metric.stale_calendars]
}

# A spike of failed syncs: messages redelivered on error or failed permanently.
resource "google_monitoring_alert_policy" "failed_syncs" {
  display_name = "calsync: failed syncs"
  combiner     = "OR"
  conditions {
    display_name = "failed or errored syncs per minute above the threshold for 10 minutes"
    condition_threshold {
      filter          = "metric.type=\"${local.metric_type.sync_results}\" AND metric.label.outcome=one_of(\"error\", \"failed\")"
      comparison      = "COMPARISON_GT"
      threshold_value = var.failed_sync_alert_per_minute
      duration        = "600s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
  notification_channels = var.alert_notification_channels
  depends_on            = [google_logging_metric.sync_results]
}

# A renewal run that hit its time budget left channels or syncs for the next run.
resource "google_monitoring_alert_policy" "renewal_budget" {
  display_name = "calsync: renewal runs hit their time budget"
  combiner     = "OR"
  conditions {
    display_name = "renewal time budget used up within an hour"
    condition_threshold {
      filter          = "metric.type=\"${local.metric_type.renewal_budget_used}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
  notification_channels = var.alert_notification_channels
  documentation {
    content   = "Raise CALSYNC_RENEW_PER_SECOND (within the Calendar API project quota: two calls per renewal), CALSYNC_RENEW_CONCURRENCY or the budget, or look at `remaining` on the dashboard: channels left over are renewed by the next run, inside the 24 h window."
    mime_type = "text/markdown"
  }
  depends_on = [google_logging_metric.renewal_budget_used]
}

# --- Dashboard --------------------------------------------------------------------------------

locals {
  dashboard_tiles = [
    { title = "Sync outcomes per minute", filter = "metric.type=\"${local.metric_type.sync_results}\"", aligner = "ALIGN_RATE", group = ["metric.label.outcome"] },
    { title = "Sync lag (publish → mirror), p95 ms", filter = "metric.type=\"${local.metric_type.sync_lag}\"", aligner = "ALIGN_PERCENTILE_95", group = [] },
    { title = "Calendars needing re-authorisation", filter = "metric.type=\"${local.metric_type.needs_reauth}\"", aligner = "ALIGN_SUM", group = ["metric.label.code"] },
    { title = "Quarantined items", filter = "metric.type=\"${local.metric_type.quarantined_items}\"", aligner = "ALIGN_SUM", group = ["metric.label.reason"] },
    { title = "Renewal: work left for the next run", filter = "metric.type=\"${local.metric_type.renewal_remaining}\"", aligner = "ALIGN_PERCENTILE_99", group = [] },
    { title = "Dead letters waiting", filter = "resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${google_pubsub_subscription.dead_letter.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\"", aligner = "ALIGN_MAX", group = [] },
    { title = "Webhook rejections (sampled) by reason", filter = "metric.type=\"${local.metric_type.notification_rejected}\"", aligner = "ALIGN_SUM", group = ["metric.label.reason"] },
    { title = "Notifications on v1 channel tokens (sampled)", filter = "metric.type=\"${local.metric_type.channel_token_v1}\"", aligner = "ALIGN_SUM", group = [] },
  ]
}

resource "google_monitoring_dashboard" "calsync" {
  dashboard_json = jsonencode({
    displayName = "calsync"
    mosaicLayout = {
      columns = 12
      tiles = [for i, t in local.dashboard_tiles : {
        xPos   = (i % 2) * 6
        yPos   = floor(i / 2) * 4
        width  = 6
        height = 4
        widget = {
          title = t.title
          xyChart = {
            dataSets = [{
              plotType = "LINE"
              timeSeriesQuery = {
                timeSeriesFilter = {
                  filter = t.filter
                  aggregation = {
                    alignmentPeriod    = "300s"
                    perSeriesAligner   = t.aligner
                    crossSeriesReducer = length(t.group) > 0 ? "REDUCE_SUM" : "REDUCE_NONE"
                    groupByFields      = t.group
                  }
                }
              }
            }]
          }
        }
      }]
    }
  })

  depends_on = [
    google_logging_metric.sync_results,
    google_logging_metric.sync_lag,
    google_logging_metric.needs_reauth,
    google_logging_metric.quarantined_items,
    google_logging_metric.renewal_remaining,
    google_logging_metric.notification_rejected,
    google_logging_metric.channel_token_v1,
  ]
}
