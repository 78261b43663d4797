# Delivery pipeline (bootstrap, applied by a project owner, not by the pipeline): Cloud Build triggers and the two build identities.
#
# Two builds, two identities (issue 15.6):
# - test   (cloudbuild.yaml)        every branch and pull request; runs branch code (npm ci runs
#                                   install scripts) as calsync-ci-test, which can write build logs
#                                   and nothing else: no deploy rights, no secrets, no state.
# - deploy (cloudbuild.deploy.yaml) only pushes to var.deploy_branch; the branch filter lives here,
#                                   outside the YAML a branch controls; runs `terraform apply` of
#                                   infra/ (no npm, no project code) as calsync-deployer, which
#                                   holds only what that apply needs.
# This module has its own state (prefix calsync/delivery) and is never applied by the deployer, so
# the deployer cannot widen its own rights or move the branch filter.

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  # Project roles `terraform apply` of infra/ needs, resource by resource (infra/*.tf). The
  # Firestore database, the source bucket and the APIs are created by the owner's first apply
  # (README "Deployment", step 5); later applies only read or update them.
  deployer_roles = [
    "roles/cloudfunctions.developer",       # google_cloudfunctions2_function
    "roles/run.admin",                      # invoker bindings on the functions' Cloud Run services
    "roles/iam.serviceAccountAdmin",        # runtime / push / scheduler / build service accounts and their IAM
    "roles/iam.serviceAccountUser",         # actAs those accounts when deploying functions, push, Scheduler
    "roles/pubsub.admin",                   # topics, subscriptions, their IAM
    "roles/cloudscheduler.admin",           # the renewal job
    "roles/datastore.indexAdmin",           # composite indexes, field overrides, TTL
    "roles/firebaserules.admin",            # infra/firestore.rules
    "roles/serviceusage.serviceUsageAdmin", # var.enable_apis
    "roles/logging.configWriter",           # log-based metrics (monitoring.tf)
    "roles/monitoring.alertPolicyEditor",   # alert policies
    "roles/monitoring.dashboardEditor",     # the dashboard
    "roles/logging.logWriter",              # its own build logs
  ]

  # Project-level roles infra/ grants to its own service accounts: the only ones the deployer may grant.
  grantable_roles = [
    "roles/datastore.user",
    "roles/cloudbuild.builds.builder",
    "roles/logging.logWriter",
  ]
}

resource "google_service_account" "ci_test" {
  account_id   = "${var.name_prefix}-ci-test"
  display_name = "calsync test builds (no deploy rights)"
}

resource "google_project_iam_member" "ci_test_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.ci_test.member
}

resource "google_service_account" "deployer" {
  account_id   = "${var.name_prefix}-deployer"
  display_name = "calsync deploy builds (terraform apply of infra/)"
}

resource "google_project_iam_member" "deployer" {
  for_each = toset(local.deployer_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.deployer.member
}

# Project IAM only for the roles infra/ grants: a deploy cannot make anyone an owner.
# https://cloud.google.com/iam/docs/setting-limits-on-granting-roles
resource "google_project_iam_member" "deployer_grants" {
  project = var.project_id
  role    = "roles/resourcemanager.projectIamAdmin"
  member  = google_service_account.deployer.member

  condition {
    title      = "calsync roles only"
    expression = "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${join(", ", [for r in local.grantable_roles : "'${r}'"])}])"
  }
}

# Secret containers and their IAM, never a secret's value (roles/secretmanager.admin could read it).
resource "google_project_iam_custom_role" "secret_containers" {
  role_id = "${replace(var.name_prefix, "-", "_")}_secret_containers"
  title   = "calsync secret containers (no value access)"
  permissions = [
    "secretmanager.secrets.create",
    "secretmanager.secrets.delete",
    "secretmanager.secrets.get",
    "secretmanager.secrets.getIamPolicy",
    "secretmanager.secrets.list",
    "secretmanager.secrets.setIamPolicy",
    "secretmanager.secrets.update",
    "secretmanager.versions.list",
  ]
}

resource "google_project_iam_member" "deployer_secrets" {
  project = var.project_id
  role    = google_project_iam_custom_role.secret_containers.id
  member  = google_service_account.deployer.member
}

# Storage: the Terraform state bucket and the functions' source bucket, nothing else.
resource "google_project_iam_member" "deployer_buckets" {
  project = var.project_id
  role    = "roles/storage.admin"
  member  = google_service_account.deployer.member

  condition {
    title = "state and source buckets only"
    # Exact bucket names (a bare prefix would also match "<name>-other"), then their objects.
    expression = join(" || ", flatten([
      for b in [var.tf_state_bucket, "${var.project_id}-${var.name_prefix}-source"] : [
        "resource.name == 'projects/_/buckets/${b}'",
        "resource.name.startsWith('projects/_/buckets/${b}/objects/')",
      ]
    ]))
  }
}

# Test build: every branch push and every pull request.
resource "google_cloudbuild_trigger" "test" {
  name            = "${var.name_prefix}-test"
  description     = "lint, build, full test suite on the emulators; no deploy rights"
  filename        = "cloudbuild.yaml"
  service_account = google_service_account.ci_test.id

  github {
    owner = var.github_owner
    name  = var.github_repo
    push {
      branch = ".*"
    }
  }
}

resource "google_cloudbuild_trigger" "test_pull_requests" {
  name            = "${var.name_prefix}-test-pr"
  description     = "the test build on pull requests (outside contributors need a /gcbrun comment)"
  filename        = "cloudbuild.yaml"
  service_account = google_service_account.ci_test.id

  github {
    owner = var.github_owner
    name  = var.github_repo
    pull_request {
      branch          = ".*"
      comment_control = "COMMENTS_ENABLED_FOR_EXTERNAL_CONTRIBUTORS_ONLY"
    }
  }
}

# Deploy build: only the deploy branch, only as the deployer.
resource "google_cloudbuild_trigger" "deploy" {
  name            = "${var.name_prefix}-deploy"
  description     = "terraform apply of infra/ from ${var.deploy_branch}"
  filename        = "cloudbuild.deploy.yaml"
  service_account = google_service_account.deployer.id

  github {
    owner = var.github_owner
    name  = var.github_repo
    push {
      branch = "^${var.deploy_branch}$"
    }
  }

  substitutions = {
    _REGION          = var.region
    _TF_STATE_BUCKET = var.tf_state_bucket
    _OAUTH_CLIENT_ID = var.oauth_client_id
    _DEPLOY_BRANCH   = var.deploy_branch
  }
}
