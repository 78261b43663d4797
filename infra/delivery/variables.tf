# Inputs of the delivery pipeline: project, repository, deploy branch, state bucket.

variable "project_id" {
  description = "Google Cloud project that hosts calsync and its builds."
  type        = string
}

variable "region" {
  description = "Region of the functions (passed to the deploy build as _REGION)."
  type        = string
  default     = "us-central1"
}

variable "name_prefix" {
  description = "Prefix of the build service accounts and triggers (same as infra/'s)."
  type        = string
  default     = "calsync"
}

variable "github_owner" {
  description = "GitHub owner of the repository (the Cloud Build GitHub app must be installed on it)."
  type        = string
}

variable "github_repo" {
  description = "GitHub repository name."
  type        = string
}

variable "deploy_branch" {
  description = "The only branch whose pushes deploy."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]+$", var.deploy_branch))
    error_message = "deploy_branch must be a plain branch name (it is anchored as ^name$)."
  }
}

variable "tf_state_bucket" {
  description = "GCS bucket of infra/'s Terraform state (see infra/backend.tf.example)."
  type        = string
}

variable "oauth_client_id" {
  description = "OAuth client id passed to the deploy build (not secret)."
  type        = string
}
