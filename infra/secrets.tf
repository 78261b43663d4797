# Secret Manager secrets (containers only: values are added with gcloud, never pass through Terraform state).

locals {
  # Environment variable (as read by functions/config.ts) => Secret Manager secret id.
  secret_ids = {
    CALSYNC_CHANNEL_SECRET          = "${var.name_prefix}-channel-secret"
    CALSYNC_CHANNEL_SECRET_PREVIOUS = "${var.name_prefix}-channel-secret-previous"
    CALSYNC_TOKEN_KEY               = "${var.name_prefix}-token-key"
    CALSYNC_TOKEN_KEY_PREVIOUS      = "${var.name_prefix}-token-key-previous"
    GOOGLE_OAUTH_CLIENT_SECRET      = "${var.name_prefix}-google-oauth-client-secret"
  }

  # The *_PREVIOUS secrets are mounted only during a rotation: a secret without a version cannot be mounted.
  mounted_previous = concat(
    var.channel_secret_rotation ? ["CALSYNC_CHANNEL_SECRET_PREVIOUS"] : [],
    var.token_key_rotation ? ["CALSYNC_TOKEN_KEY_PREVIOUS"] : [],
  )

  # Which function may read which secret: no function can read a secret it never uses.
  # - webhook: verifies channel tokens, with the current secret or, during a rotation, the previous one.
  # - sync_worker and renew_channels: sign the tokens of channels they open (current secret only —
  #   they never verify a notification, so never the previous one), decrypt refresh tokens (current
  #   and, during a key rotation, previous token key) and refresh access tokens (OAuth client secret).
  # test/unit/infra/consistency.test.ts holds this against what each role's code reads.
  function_secret_access = {
    webhook = ["CALSYNC_CHANNEL_SECRET", "CALSYNC_CHANNEL_SECRET_PREVIOUS"]
    sync_worker = [
      "CALSYNC_CHANNEL_SECRET",
      "CALSYNC_TOKEN_KEY",
      "CALSYNC_TOKEN_KEY_PREVIOUS",
      "GOOGLE_OAUTH_CLIENT_SECRET",
    ]
    renew_channels = [
      "CALSYNC_CHANNEL_SECRET",
      "CALSYNC_TOKEN_KEY",
      "CALSYNC_TOKEN_KEY_PREVIOUS",
      "GOOGLE_OAUTH_CLIENT_SECRET",
    ]
  }

  # What is mounted now: a *_PREVIOUS secret only while its rotation switch is on.
  function_secrets = {
    for fn, envs in local.function_secret_access :
    fn => [for k in envs : k if !endswith(k, "_PREVIOUS") || contains(local.mounted_previous, k)]
  }

  # Access is granted on every secret a function may need, including *_PREVIOUS, so a rotation
  # changes only what is mounted, never IAM.
  secret_access = merge([
    for fn, envs in local.function_secret_access :
    { for k in envs : "${fn}/${k}" => { function = fn, env = k } }
  ]...)
}

resource "google_secret_manager_secret" "secrets" {
  for_each = local.secret_ids

  secret_id = each.value
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "function_access" {
  for_each = local.secret_access

  secret_id = google_secret_manager_secret.secrets[each.value.env].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.functions[each.value.function].member
}
