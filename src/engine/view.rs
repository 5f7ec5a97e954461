//! The engine's read-only view of a stored object, for `scan` and `explain`: the image
//! triggers as OpenShift's controllers see them, what the scheduling rule makes of each
//! ImageStream tag, and which tags track another tag (and whether OpenShift moves them with
//! it). Read by the very code the rules use (the trigger families, the scheduling
//! decision), with nothing repaired and nothing reported, so `scan` never parses triggers or
//! judges importability itself.

use std::collections::BTreeMap;

use serde_json::Value;

use super::catalog::{Catalog, TagRef};
use super::kind::Kind;
use super::triggers::Existing;
use super::{Context, Operation, containers, family, imagestream};
use crate::config::RuleConfig;
use crate::pointer::Pointer as _;

pub use super::imagestream::Importability;

/// The trigger that names one container, as the controller reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTrigger {
    /// The ImageStreamTag it follows; `tag` is empty when `from.name` names none (such a
    /// trigger never fires).
    pub tag: TagRef,
    /// DeploymentConfig `automatic: true`, or an annotation entry that is not `paused`.
    pub automatic: bool,
    /// The trigger names no other container.
    pub sole: bool,
}

/// The existing triggers of a stored workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredTriggers {
    /// Container name -> the first trigger naming it.
    Usable(BTreeMap<String, StoredTrigger>),
    /// The controller fails every trigger of the object (a broken annotation: not an
    /// array, an entry that does not decode such as a string `paused`, a `fieldPath` it
    /// cannot apply such as a single-quoted selector).
    Blocked,
    /// Not understood (the annotation is not a string).
    Unreadable,
    /// Turned off by the user (`oc set triggers --remove-all`).
    Disabled,
}

impl StoredTriggers {
    /// The usable triggers; none when the controller uses none.
    pub fn usable(self) -> BTreeMap<String, StoredTrigger> {
        match self {
            StoredTriggers::Usable(triggers) => triggers,
            _ => BTreeMap::new(),
        }
    }
}

/// The triggers of `object` (of `kind`, in `namespace`) as OpenShift's trigger controller
/// uses them. Kinds without image triggers have none.
pub fn triggers(kind: Kind, object: &Value, namespace: &str) -> StoredTriggers {
    let (Some(pod_spec), Some(family)) = (kind.pod_spec_pointer(), family::of(kind)) else {
        return StoredTriggers::Usable(BTreeMap::new());
    };
    let containers = containers::read(object.at(pod_spec));
    match family.stored(object, &containers, namespace) {
        Existing::Usable(coverage) => StoredTriggers::Usable(
            coverage
                .into_iter()
                .map(|(name, covered)| {
                    let trigger = StoredTrigger {
                        tag: covered.tag,
                        automatic: covered.automatic,
                        sole: covered.sole,
                    };
                    (name, trigger)
                })
                .collect(),
        ),
        Existing::Blocked => StoredTriggers::Blocked,
        Existing::Unreadable => StoredTriggers::Unreadable,
        Existing::Disabled => StoredTriggers::Disabled,
    }
}

/// Tag name -> what the scheduling rule makes of it, for every named spec tag of a stored
/// ImageStream, judged against `catalog` (the cluster's own registry hosts of the stream)
/// and `config` (the internal registry hosts, the repository filters).
pub fn tag_importability(
    stream: &Value,
    catalog: &dyn Catalog,
    config: &RuleConfig,
) -> Vec<(String, Importability)> {
    let namespace = stream
        .at("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let context = Context {
        namespace,
        catalog,
        config,
        operation: Operation::Update,
        old_object: None,
        // Names in workloads; an ImageStream has none to resolve.
        resolve_names: false,
        image_policy: true,
    };
    imagestream::importable::of_stream(stream, &context)
}

/// A spec tag that tracks another tag: `from.kind: ImageStreamTag` (OpenShift's "tag
/// tracking"). It imports nothing itself; OpenShift copies the tag it names into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// The tracking tag's name.
    pub tag: String,
    /// The tag it names: `from.name` `TAG` (this stream) or `STREAM:TAG` (`latest` when the
    /// tag is empty), in `from.namespace` or else the stream's own namespace.
    pub source: TagRef,
    /// OpenShift copies every new image of `source` into this tag: the source is a tag of the
    /// same stream (openshift-apiserver `UpdateTrackingTags` skips any other stream or
    /// namespace). Otherwise the source's image is copied only when the spec tag is written.
    pub follows: bool,
}

/// The tags of a stored ImageStream that track another tag, in spec order. A `from.name`
/// naming no tag (empty, or an empty stream before `:`) tracks nothing and is left out, as
/// are `ImageStreamImage` sources (a copy of one image, which never moves).
pub fn tracking_tags(stream: &Value) -> Vec<Tracking> {
    let meta = |field: &str| {
        (stream.at(&format!("/metadata/{field}")))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let (namespace, name) = (meta("namespace"), meta("name"));
    let mut tracking = Vec::new();
    for spec in crate::pointer::items(stream, "/spec/tags") {
        let text = |pointer: &str| spec.at(pointer).and_then(Value::as_str);
        let (Some(tag), Some("ImageStreamTag"), Some(from)) =
            (text("/name"), text("/from/kind"), text("/from/name"))
        else {
            continue;
        };
        // library-go `SplitImageStreamTag`, as `UpdateTrackingTags` splits it.
        let (source_stream, source_tag) = match from.split_once(':') {
            Some((stream, "")) => (stream, "latest"),
            Some((stream, tag)) => (stream, tag),
            None => (name, from),
        };
        if source_stream.is_empty() || source_tag.is_empty() {
            continue;
        }
        let source_namespace = text("/from/namespace")
            .filter(|ns| !ns.is_empty())
            .unwrap_or(namespace);
        tracking.push(Tracking {
            tag: tag.to_string(),
            follows: source_namespace == namespace && source_stream == name,
            source: TagRef {
                namespace: source_namespace.to_string(),
                stream: source_stream.to_string(),
                tag: source_tag.to_string(),
            },
        });
    }
    tracking
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::CatalogIndex;
    use crate::engine::BindingKind;

    #[test]
    fn deployment_config_triggers_are_read_as_the_controller_reads_them() {
        let dc = json!({"spec": {"triggers": [{"type": "ConfigChange"},
            {"type": "ImageChange", "imageChangeParams": {"automatic": true,
                "containerNames": ["api", "sidecar"],
                "from": {"kind": "ImageStreamTag", "name": "api:1", "namespace": "base"}}}],
            "template": {"spec": {"containers": [{"name": "api"}, {"name": "sidecar"}]}}}});
        let triggers = triggers(Kind::DeploymentConfig, &dc, "shop").usable();
        let api = &triggers["api"];
        assert_eq!(api.tag.namespace, "base");
        assert_eq!(api.tag.stream_tag(), "api:1");
        assert!(api.automatic && !api.sole);
    }

    #[test]
    fn an_annotation_that_is_not_an_array_blocks_and_null_disables() {
        let with = |value: &str| {
            json!({"metadata": {"annotations": {"image.openshift.io/triggers": value}},
                "spec": {"template": {"spec": {"containers": [{"name": "web"}]}}}})
        };
        assert_eq!(
            triggers(Kind::Deployment, &with("{}"), "shop"),
            StoredTriggers::Blocked
        );
        assert_eq!(
            triggers(Kind::Deployment, &with("null"), "shop"),
            StoredTriggers::Disabled
        );
        let missing = r#"[{"from":{"kind":"ImageStreamTag","name":"web:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"gone\")].image"}]"#;
        assert_eq!(
            triggers(Kind::Deployment, &with(missing), "shop"),
            StoredTriggers::Blocked
        );
    }

    #[test]
    fn importability_is_the_scheduling_rules_decision() {
        let stream = json!({"kind": "ImageStream",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"tags": [
                {"name": "a", "from": {"kind": "DockerImage", "name": "quay.io/o/a:1"}},
                {"name": "skip", "from": {"kind": "DockerImage", "name": "quay.io/o/a:1"},
                 "annotations": {"autoredeploy.io/skip": "true"}},
                {"name": "ref", "reference": true, "from": {"kind": "DockerImage", "name": "quay.io/o/a:1"}},
                {"name": "bad", "from": {"kind": "DockerImage", "name": "UPPER/Case::"}},
                {"name": "none", "from": {"kind": "DockerImage"}},
                {"name": "pushed"}]}});
        let decided: BTreeMap<String, Importability> =
            tag_importability(&stream, &CatalogIndex::new(), &RuleConfig::default())
                .into_iter()
                .collect();
        assert_eq!(
            decided["a"],
            Importability::Importable {
                source: "quay.io/o/a:1".into(),
                registry: "quay.io".into()
            }
        );
        assert_eq!(decided["skip"], Importability::OptedOut);
        assert_eq!(decided["ref"], Importability::Reference);
        assert!(matches!(decided["bad"], Importability::Unparsable(_)));
        assert_eq!(decided["none"], Importability::NoSource);
        assert_eq!(decided["pushed"], Importability::NotExternal);
    }

    #[test]
    fn tracking_tags_name_their_source_and_whether_openshift_follows_it() {
        let stream = json!({"kind": "ImageStream",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"tags": [
                {"name": "1", "from": {"kind": "DockerImage", "name": "quay.io/o/web:1"}},
                {"name": "short", "from": {"kind": "ImageStreamTag", "name": "1"}},
                {"name": "long", "from": {"kind": "ImageStreamTag", "name": "web:1"}},
                {"name": "own-ns", "from": {"kind": "ImageStreamTag", "name": "web:1", "namespace": "shop"}},
                {"name": "bare", "from": {"kind": "ImageStreamTag", "name": "web:"}},
                {"name": "other", "from": {"kind": "ImageStreamTag", "name": "base:1"}},
                {"name": "away", "from": {"kind": "ImageStreamTag", "name": "web:1", "namespace": "base"}},
                {"name": "pinned", "from": {"kind": "ImageStreamImage", "name": "web@sha256:abc"}},
                {"name": "empty", "from": {"kind": "ImageStreamTag", "name": ""}},
                {"name": "nostream", "from": {"kind": "ImageStreamTag", "name": ":1"}}]}});
        let read: Vec<(String, String, bool)> = (tracking_tags(&stream).into_iter())
            .map(|t| {
                let source = format!("{}/{}", t.source.namespace, t.source.stream_tag());
                (t.tag, source, t.follows)
            })
            .collect();
        let row = |tag: &str, source: &str, follows| (tag.to_string(), source.to_string(), follows);
        assert_eq!(
            read,
            vec![
                row("short", "shop/web:1", true),
                row("long", "shop/web:1", true),
                row("own-ns", "shop/web:1", true),
                row("bare", "shop/web:latest", true),
                row("other", "shop/base:1", false),
                row("away", "base/web:1", false),
            ]
        );
    }

    /// `shop/app:1` from quay.io, with local lookup (short names bind) and local references
    /// (internal pull specs bind).
    fn app_stream() -> Value {
        json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": "app", "namespace": "shop"},
            "spec": {"lookupPolicy": {"local": true}, "tags": [{"name": "1",
                "from": {"kind": "DockerImage", "name": "quay.io/o/app:1"},
                "referencePolicy": {"type": "Local"}}]}})
    }

    #[test]
    fn outcome_bindings_say_how_each_container_was_bound() {
        let stream = app_stream();
        let digest = format!("quay.io/o/x@sha256:{}", "0".repeat(64));
        let object = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "annotations": {
                "autoredeploy.io/skip-containers": "skipped",
                "autoredeploy.io/image-stream-tags": "explicit=app:1"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "external", "image": "quay.io/o/app:1"},
                {"name": "short", "image": "app:1"},
                {"name": "internal", "image": "image-registry.openshift-image-registry.svc:5000/shop/app:1"},
                {"name": "explicit", "image": "quay.io/o/elsewhere:2"},
                {"name": "skipped", "image": "quay.io/o/app:1"},
                {"name": "pinned", "image": digest},
                {"name": "untracked", "image": "quay.io/o/nobody:1"},
                {"name": "noimage"}]}}}});
        let outcome = crate::engine::test_support::run_with_streams(&object, &[stream]);
        let kinds: Vec<(&str, BindingKind, Option<String>)> = (outcome.bindings.iter())
            .map(|b| {
                let tag = b.tag.as_ref().map(TagRef::stream_tag);
                (b.container.as_str(), b.kind, tag)
            })
            .collect();
        let app = || Some("app:1".to_string());
        assert_eq!(
            kinds,
            vec![
                ("external", BindingKind::ExternalReference, app()),
                ("short", BindingKind::ShortName, app()),
                ("internal", BindingKind::InternalRegistry, app()),
                ("explicit", BindingKind::Explicit, app()),
                ("skipped", BindingKind::OptedOut, None),
                ("pinned", BindingKind::DigestPinned, None),
                ("untracked", BindingKind::Untracked, None),
                ("noimage", BindingKind::NoImage, None),
            ]
        );
        assert_eq!(
            outcome.bindings[2].pointer,
            "/spec/template/spec/containers/2"
        );
        // Once the triggers exist, every bound container follows one.
        let again = crate::engine::test_support::run_with_streams(&outcome.object, &[app_stream()]);
        let existing = (again.bindings.iter())
            .filter(|b| b.kind == BindingKind::ExistingTrigger)
            .count();
        assert_eq!(existing, 4, "{:?}", again.bindings);
    }

    /// A short name ImagePolicy admission turned into the tag's internal pull spec before the
    /// webhook saw it: the last-applied manifest shows what the user wrote.
    #[test]
    fn a_short_name_imagepolicy_resolved_is_bound_as_such() {
        let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "app:1"}]}}}});
        let object = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": applied.to_string()}},
            "spec": {"template": {"spec": {"containers": [{"name": "web",
                "image": "image-registry.openshift-image-registry.svc:5000/shop/app:1"}]}}}});
        let outcome = crate::engine::test_support::run_with_streams(&object, &[app_stream()]);
        let kinds: Vec<(&str, BindingKind, Option<String>)> = (outcome.bindings.iter())
            .map(|b| {
                (
                    b.container.as_str(),
                    b.kind,
                    b.tag.as_ref().map(TagRef::stream_tag),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            vec![("web", BindingKind::ResolvedShortName, Some("app:1".into()))]
        );
    }
}
