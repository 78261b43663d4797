# Firestore: the (default) Native database, the indexes and field overrides of firestore.indexes.json, and the security rules.

resource "google_firestore_database" "default" {
  count = var.create_firestore_database ? 1 : 0

  name                    = "(default)"
  location_id             = var.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON" # `terraform destroy` never deletes users' mirrored calendars

  depends_on = [google_project_service.apis]
}

locals {
  # One file feeds both this deployment and `firebase deploy` / the emulator tooling.
  firestore_config = jsondecode(file("${path.module}/firestore.indexes.json"))

  composite_indexes = {
    for idx in local.firestore_config.indexes :
    join("|", concat(
      [idx.collectionGroup, idx.queryScope],
      [for f in idx.fields : "${f.fieldPath}:${lookup(f, "order", lookup(f, "arrayConfig", ""))}"],
    )) => idx
  }

  field_overrides = {
    for o in local.firestore_config.fieldOverrides : "${o.collectionGroup}.${o.fieldPath}" => o
  }
}

resource "google_firestore_index" "composite" {
  for_each = local.composite_indexes

  database    = "(default)"
  collection  = each.value.collectionGroup
  query_scope = each.value.queryScope

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path   = fields.value.fieldPath
      order        = lookup(fields.value, "order", null)
      array_config = lookup(fields.value, "arrayConfig", null)
    }
  }

  depends_on = [google_firestore_database.default]
}

# Single-field overrides: fields that are never queried are exempt from indexing (large Event
# payloads would otherwise pay an index entry per attendee / description on every write), and a
# TTL policy where the JSON says `"ttl": true`.
resource "google_firestore_field" "overrides" {
  for_each = local.field_overrides

  database   = "(default)"
  collection = each.value.collectionGroup
  field      = each.value.fieldPath

  # Present with an empty list: no single-field index at all. Absent: inherit the defaults.
  dynamic "index_config" {
    for_each = can(each.value.indexes) ? [each.value.indexes] : []
    content {
      dynamic "indexes" {
        for_each = index_config.value
        content {
          query_scope  = lookup(indexes.value, "queryScope", "COLLECTION")
          order        = lookup(indexes.value, "order", null)
          array_config = lookup(indexes.value, "arrayConfig", null)
        }
      }
    }
  }

  dynamic "ttl_config" {
    for_each = lookup(each.value, "ttl", false) ? [1] : []
    content {}
  }

  depends_on = [google_firestore_database.default]
}

# Rules for client SDKs (the functions use server credentials and IAM, which rules do not apply to).
resource "google_firebaserules_ruleset" "firestore" {
  source {
    files {
      name    = "firestore.rules"
      content = file("${path.module}/firestore.rules")
    }
  }

  lifecycle {
    create_before_destroy = true # the release must never point at a deleted ruleset
  }

  depends_on = [google_project_service.apis, google_firestore_database.default]
}

resource "google_firebaserules_release" "firestore" {
  name         = "cloud.firestore"
  ruleset_name = "projects/${var.project_id}/rulesets/${google_firebaserules_ruleset.firestore.name}"
}
