# The three Cloud Functions (2nd gen, nodejs22) built from one source archive, with sizes and configuration.

locals {
  # Configuration per function (names as read by functions/config.ts; secrets are in secrets.tf).
  # Kept as literal maps so test/unit/infra can check them against parseConfig. var.extra_env
  # (CALSYNC_* tuning) is merged under these.
  function_env = {
    webhook = {
      GOOGLE_CLOUD_PROJECT = var.project_id # not set automatically on 2nd gen functions
      CALSYNC_TOPIC        = var.topic_name
      CALSYNC_LOG_LEVEL    = var.log_level
    }
    sync_worker = {
      GOOGLE_CLOUD_PROJECT   = var.project_id
      CALSYNC_TOPIC          = var.topic_name
      CALSYNC_LOG_LEVEL      = var.log_level
      GOOGLE_OAUTH_CLIENT_ID = var.oauth_client_id
      # connect --all: calendars added later are watched by the worker on the list notification.
      CALSYNC_WEBHOOK_URL = local.webhook_url
      # V8 sizes its heap from the machine, not the instance, and collects lazily: a 50,000-event
      # first sync peaked at 454 MiB RSS with a live heap that stays flat. Capping the old
      # generation makes it collect first: 240 MiB peak, ≈ 30 % slower (bench full_sync.big_*,
      # test/bench/sync.ts WORKER_NODE_OPTIONS, held equal by test/unit/infra). 192 MiB also holds
      # two such syncs (concurrency 2) inside the 512 MiB instance.
      NODE_OPTIONS = "--max-old-space-size=192"
    }
    renew_channels = {
      GOOGLE_CLOUD_PROJECT   = var.project_id
      CALSYNC_TOPIC          = var.topic_name
      CALSYNC_LOG_LEVEL      = var.log_level
      GOOGLE_OAUTH_CLIENT_ID = var.oauth_client_id
      CALSYNC_WEBHOOK_URL    = local.webhook_url
    }
  }

  functions = {
    # Public HTTP endpoint for Google's push notifications: verify the channel token (HMAC, no
    # database read), publish, answer. Each request is a few ms of CPU plus one awaited publish,
    # so one instance serves many at once: concurrency 80 (needs a whole vCPU) absorbs bursts of
    # notifications without a cold start per request. 256 MiB: no Firestore or Calendar client is
    # loaded. 30 s timeout: the publish itself is bounded by CALSYNC_PUBLISH_TIMEOUT_MS (10 s).
    webhook = {
      entry_point   = "webhook"
      description   = "Google Calendar push notifications -> Pub/Sub"
      memory        = "256Mi"
      cpu           = "1"
      concurrency   = 80
      timeout       = 30
      min_instances = var.webhook_min_instances
      max_instances = var.webhook_max_instances
      ingress       = "ALLOW_ALL"
    }

    # Pub/Sub push target: events.list(syncToken) page by page into Firestore. A sync streams pages
    # of up to 2,500 events and must fit a 10,000-event calendar in 256 MiB (DESIGN invariant 6);
    # 512 MiB holds the ~120 MiB Node/gRPC baseline plus two such syncs, hence concurrency 2
    # (the work is I/O-bound, so a second delivery rides along almost for free). 540 s timeout: a
    # full sync of a large calendar plus the backoff budget (CALSYNC_RETRY_BUDGET_SECONDS, 120 s),
    # kept below the subscription's 600 s ack deadline so Pub/Sub never redelivers a message that
    # is still being worked on. max_instances caps parallel load on the Calendar API quota.
    sync_worker = {
      entry_point   = "syncWorker"
      description   = "Pub/Sub sync request -> events.list(syncToken) -> Firestore"
      memory        = "512Mi"
      cpu           = "1"
      concurrency   = var.worker_concurrency
      timeout       = 540
      min_instances = 0
      max_instances = var.worker_max_instances
      # Internal only, and private through IAM (only the push identity holds run.invoker). Pub/Sub
      # push still reaches it: "Internal … Allows requests from … The following Google Cloud
      # products, if they're in the same project or VPC Service Controls perimeter as your Cloud
      # Run service and if they're using the default run.app URL and not a custom domain: Cloud
      # Scheduler, Cloud Tasks, Dialogflow CX, Eventarc, Pub/Sub, …"
      # (https://cloud.google.com/run/docs/securing/ingress#settings). The push endpoint is the
      # function's service_config uri, its run.app URL, so the condition holds.
      ingress = "ALLOW_INTERNAL_ONLY"
    }

    # Called hourly by Cloud Scheduler: renews expiring channels with bounded concurrency inside
    # CALSYNC_RENEW_TIME_BUDGET_SECONDS (default 480 s), so the 600 s timeout leaves room to finish
    # the batch in flight. One run at a time per instance; a second overlapping run is idempotent
    # and gets its own instance (max 2). 512 MiB: pages of subscriptions plus Calendar clients.
    renew_channels = {
      entry_point   = "renewChannels"
      description   = "Hourly watch-channel renewal and safety-net resyncs"
      memory        = "512Mi"
      cpu           = "1"
      concurrency   = 1
      timeout       = 600
      min_instances = 0
      max_instances = 2
      # Internal only (Cloud Scheduler in the same project calling the run.app URL is internal, same
      # source as above), and private through IAM: only the Scheduler identity holds run.invoker.
      # `calsync renew` runs the same core from an operator's shell, not over HTTP.
      ingress = "ALLOW_INTERNAL_ONLY"
    }
  }
}

# The functions' source archive, built from an allow-list: exactly what the buildpack needs to run
# `npm ci` and `npm run build` (tsc -p tsconfig.build.json, which compiles functions/ only) — the
# production TypeScript under functions/, package.json, the lock file and the two tsconfig files.
# Nothing else can slip in (tests, scripts, local state such as .calsync/local.env with a run's
# secrets, a developer's infra/terraform.tfvars): a new top-level file needs a line here.
# package.json `main` registers all three targets; each function starts only its own entry point.
locals {
  source_files = sort(concat(
    tolist(fileset("${path.module}/..", "functions/**/*.ts")),
    ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json"],
  ))
}

data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.module}/.terraform/calsync-source.zip"

  dynamic "source" {
    for_each = local.source_files
    content {
      content  = file("${path.module}/../${source.value}")
      filename = source.value
    }
  }
}

resource "google_storage_bucket" "source" {
  name                        = "${var.project_id}-${var.name_prefix}-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # holds only rebuildable archives
  labels                      = local.labels

  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_object" "source" {
  # Content-addressed name: a code change yields a new object and thus a new build and revision.
  name   = "calsync-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

resource "google_cloudfunctions2_function" "functions" {
  for_each = local.functions

  name        = local.function_names[each.key]
  location    = var.region
  description = each.value.description
  labels      = local.labels

  build_config {
    runtime         = "nodejs22"
    entry_point     = each.value.entry_point
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = each.value.memory
    available_cpu                    = each.value.cpu
    max_instance_request_concurrency = each.value.concurrency
    timeout_seconds                  = each.value.timeout
    min_instance_count               = each.value.min_instances
    max_instance_count               = each.value.max_instances
    ingress_settings                 = each.value.ingress
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.functions[each.key].email
    environment_variables            = merge(var.extra_env, local.function_env[each.key])

    dynamic "secret_environment_variables" {
      for_each = toset(local.function_secrets[each.key])
      content {
        key        = secret_environment_variables.value
        project_id = var.project_id
        secret     = google_secret_manager_secret.secrets[secret_environment_variables.value].secret_id
        version    = lookup(var.secret_versions, secret_environment_variables.value, "latest")
      }
    }
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.build,
    google_secret_manager_secret_iam_member.function_access,
  ]
}
