//! What the rules read and write of an object, in one place beside them: the patch is
//! derived only from the members rules write, and the admission decoder leaves out what no
//! rule reads. A rule that starts reading or writing another member changes these lists,
//! and the tests that compare against whole-object diffs and whole-object decoding
//! (`tests/engine_properties.rs`, `tests/admission.rs`) hold them to it.

use super::kind::Kind;

/// Top-level members a rule may write (ImageStreamTag keeps its TagReference in `tag`).
pub const WRITABLE_MEMBERS: [&str; 3] = ["metadata", "spec", "tag"];

/// Top-level members no rule reads: the admission decoder skips them.
pub const UNREAD_MEMBERS: [&str; 1] = ["status"];

/// Members of `metadata` no rule reads: the admission decoder skips them. Rules read only
/// `name`, `namespace`, some `annotations` (of the stored object too: the triggers and
/// `autoredeploy.io/managed-triggers`), the `autoredeploy.io/skip` label and `ownerReferences`
/// (an object a controller owns is left alone), and write only `annotations`. Workloads'
/// rules also read [`INTENT_METADATA`] of the object under review.
pub const UNREAD_METADATA: [&str; 8] = [
    "creationTimestamp",
    "deletionGracePeriodSeconds",
    "deletionTimestamp",
    "finalizers",
    "generation",
    "managedFields",
    "resourceVersion",
    "uid",
];

/// Annotations no rule reads: the admission decoder skips them. `kubectl apply`'s copy of
/// the whole manifest is most of a small object's metadata, and it is an escaped string.
/// Workloads' rules read it (`INTENT_ANNOTATIONS`).
pub const UNREAD_ANNOTATIONS: [&str; 1] = [super::intent::LAST_APPLIED];

/// Members of `metadata` listed unread that workloads' rules read on the object under review
/// (not the stored one): what the manifest said (`engine::intent`), as `managedFields` records it.
pub const INTENT_METADATA: [&str; 1] = ["managedFields"];

/// Annotations listed unread that workloads' rules read on the object under review: `kubectl
/// apply`'s copy of the manifest says what the user wrote (`engine::intent`).
pub const INTENT_ANNOTATIONS: [&str; 1] = [super::intent::LAST_APPLIED];

/// Whether the rules of this kind read what the manifest said ([`INTENT_METADATA`],
/// [`INTENT_ANNOTATIONS`]): the workloads, whose images ImagePolicy admission rewrites and
/// whose pull policy Kubernetes defaults.
pub fn reads_intent(kind: Kind) -> bool {
    kind.pod_spec_pointer().is_some()
}

/// Top-level members of the stored object (`oldObject`) a rule reads: the containers' images
/// and the triggers, under `spec` and `metadata.annotations`. The decoder keeps only these.
pub const OLD_OBJECT_MEMBERS: [&str; 2] = ["metadata", "spec"];

/// Whether any rule reads the stored object of this kind: only double-rollout avoidance on
/// workloads does. For the others the decoder skips `oldObject` (an ImageStream UPDATE sends
/// the whole stream twice).
pub fn reads_old_object(kind: Kind) -> bool {
    kind.pod_spec_pointer().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_written_is_left_unread() {
        for member in WRITABLE_MEMBERS {
            assert!(!UNREAD_MEMBERS.contains(&member), "{member}");
        }
        for member in [
            "name",
            "namespace",
            "generateName",
            "annotations",
            "labels",
            "ownerReferences",
        ] {
            assert!(!UNREAD_METADATA.contains(&member), "{member}");
        }
        for annotation in [
            crate::engine::annotations::SKIP,
            crate::engine::annotations::SKIP_CONTAINERS,
            crate::engine::annotations::IMAGE_STREAM_TAGS,
            crate::engine::annotations::MANAGE_OWNED,
            crate::engine::annotation_entries::TRIGGERS,
            crate::engine::ownership::MANAGED_TRIGGERS,
            crate::config::MODE_ANNOTATION,
        ] {
            assert!(!UNREAD_ANNOTATIONS.contains(&annotation), "{annotation}");
        }
    }

    #[test]
    fn what_workloads_read_of_the_manifest_is_listed_unread_for_the_others() {
        for member in INTENT_METADATA {
            assert!(UNREAD_METADATA.contains(&member), "{member}");
        }
        for annotation in INTENT_ANNOTATIONS {
            assert!(UNREAD_ANNOTATIONS.contains(&annotation), "{annotation}");
        }
        assert!(reads_intent(Kind::Deployment));
        assert!(reads_intent(Kind::DeploymentConfig));
        assert!(!reads_intent(Kind::ImageStream));
    }

    #[test]
    fn only_workloads_read_the_stored_object() {
        assert!(reads_old_object(Kind::DeploymentConfig));
        assert!(reads_old_object(Kind::CronJob));
        assert!(!reads_old_object(Kind::ImageStream));
        assert!(!reads_old_object(Kind::ImageStreamTag));
    }
}
