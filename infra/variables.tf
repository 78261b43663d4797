# Inputs of the calsync deployment: project, region, OAuth client id, sizing, rotation switches.

variable "project_id" {
  description = "Google Cloud project id that hosts calsync."
  type        = string
}

variable "region" {
  description = "Region of the functions, Pub/Sub push endpoint, Scheduler job and source bucket."
  type        = string
  default     = "us-central1"
}

variable "firestore_location" {
  description = "Location of the (default) Firestore database: a region or a multi-region such as nam5. Immutable."
  type        = string
  default     = "nam5"
}

variable "create_firestore_database" {
  description = "Create the (default) Firestore database in Native mode. Set false if the project already has one."
  type        = bool
  default     = true
}

variable "enable_apis" {
  description = "Enable the Google APIs calsync needs (needs serviceusage.services.enable)."
  type        = bool
  default     = true
}

variable "name_prefix" {
  description = "Prefix of function, service account, secret and Scheduler job names."
  type        = string
  default     = "calsync"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}$", var.name_prefix))
    error_message = "name_prefix must be 2-15 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "topic_name" {
  description = "Pub/Sub topic for notifications (CALSYNC_TOPIC; the code's default is calendar-notifications)."
  type        = string
  default     = "calendar-notifications"
}

variable "oauth_client_id" {
  description = "OAuth 2.0 client id used to refresh users' tokens (GOOGLE_OAUTH_CLIENT_ID). Not secret."
  type        = string
}

variable "webhook_url" {
  description = "Public HTTPS address given to events.watch (CALSYNC_WEBHOOK_URL). Empty: the webhook function's own URL."
  type        = string
  default     = ""

  validation {
    condition     = var.webhook_url == "" || can(regex("^https://", var.webhook_url))
    error_message = "webhook_url must be empty or an https:// URL."
  }
}

variable "log_level" {
  description = "CALSYNC_LOG_LEVEL of every function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "extra_env" {
  description = "Extra CALSYNC_* tuning variables (see functions/config.ts) given to every function."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.extra_env) : can(regex("^CALSYNC_[A-Z0-9_]+$", k))])
    error_message = "extra_env keys must be CALSYNC_* variables read by functions/config.ts."
  }

  # Where users' tokens go is not a tuning knob: the deployment always talks to Google's own hosts
  # (functions/config.ts also refuses any other host unless it is loopback).
  validation {
    condition = length(setintersection(keys(var.extra_env), [
      "CALSYNC_CALENDAR_API_URL",
      "CALSYNC_OAUTH_TOKEN_URL",
    ])) == 0
    error_message = "extra_env must not set CALSYNC_CALENDAR_API_URL or CALSYNC_OAUTH_TOKEN_URL: production talks to Google's hosts only."
  }
}

variable "secret_versions" {
  description = "Secret Manager version mounted per variable (\"latest\" or a number). Pin numbers to force a rollout on rotation."
  type        = map(string)
  default     = {}
}

variable "channel_secret_rotation" {
  description = "Mount CALSYNC_CHANNEL_SECRET_PREVIOUS (the secret must have a version) while channels signed with the old secret are renewed."
  type        = bool
  default     = false
}

variable "token_key_rotation" {
  description = "Mount CALSYNC_TOKEN_KEY_PREVIOUS (the secret must have a version) while refresh tokens encrypted with the old key remain."
  type        = bool
  default     = false
}

variable "webhook_min_instances" {
  description = "Warm webhook instances (0 = scale to zero; Google retries a slow first notification anyway)."
  type        = number
  default     = 0
}

variable "webhook_max_instances" {
  description = "Upper bound of webhook instances (each handles 80 concurrent notifications)."
  type        = number
  default     = 100
}

variable "worker_max_instances" {
  description = "Upper bound of sync worker instances: caps concurrent Calendar API and Firestore load."
  type        = number
  default     = 50
}

variable "worker_concurrency" {
  description = "Concurrent Pub/Sub deliveries per worker instance (each sync must fit in 256 MiB of the 512 MiB)."
  type        = number
  default     = 2
}

variable "max_delivery_attempts" {
  description = "Deliveries of one message to the worker before it goes to the dead-letter topic (5-100)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "Pub/Sub accepts 5 to 100 delivery attempts."
  }
}

variable "renew_schedule" {
  description = "Cron schedule of renewChannels (hourly; off the top of the hour to avoid the global rush)."
  type        = string
  default     = "17 * * * *"
}

variable "labels" {
  description = "Labels added to every labelled resource."
  type        = map(string)
  default     = {}
}

variable "alert_notification_channels" {
  description = "Cloud Monitoring notification channel ids (projects/P/notificationChannels/N) the alert policies notify. Empty: alerts show in the console only."
  type        = list(string)
  default     = []
}

variable "failed_sync_alert_per_minute" {
  description = "Alert when more syncs than this fail (or are redelivered on error) per minute for 10 minutes."
  type        = number
  default     = 5
}
