//! The annotations users write to steer autoredeploy (docs/rules.md, "Opting in and out"): object
//! opt-out (annotation or label), per-container opt-out, explicit container-to-tag bindings, and
//! the opt-in of objects a controller owns (with the `ownerReferences` entry that makes them
//! owned). Owns their keys and parsing; it must not change the object.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::change::{Code, Report, pointer_token};
use super::names;
use crate::engine::catalog::TagRef;

/// `"true"` on an object (or on an ImageStream spec tag): leave it alone.
pub const SKIP: &str = "autoredeploy.io/skip";
/// Comma-separated container names that must not get triggers.
pub const SKIP_CONTAINERS: &str = "autoredeploy.io/skip-containers";
/// Explicit bindings: `container=stream:tag` or `container=namespace/stream:tag`, comma-separated.
pub const IMAGE_STREAM_TAGS: &str = "autoredeploy.io/image-stream-tags";
/// On an ImageStream, written by `autoredeploy poll`: comma-separated names of tags of a
/// polled registry whose manifest HEAD is refused (`401`/`403`, a private repository). The
/// webhook schedules those within the registry's budget, as if it were not polled.
pub const UNPOLLABLE_TAGS: &str = "autoredeploy.io/unpollable-tags";

/// The tag names listed in an object's [`UNPOLLABLE_TAGS`] annotation.
pub fn unpollable_tags(object: &Value) -> BTreeSet<String> {
    get(object, UNPOLLABLE_TAGS)
        .into_iter()
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(str::to_string)
        .collect()
}

/// `"true"` on an object with a controller `ownerReference`: its controller keeps what
/// autoredeploy writes, so manage the object anyway.
pub const MANAGE_OWNED: &str = "autoredeploy.io/manage-owned";

/// The string value of `metadata.annotations[key]` (a map of other JSON types is ignored).
pub fn get<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .get("metadata")?
        .get("annotations")?
        .get(key)?
        .as_str()
}

/// JSON pointer of an object annotation.
pub fn pointer(key: &str) -> String {
    format!("/metadata/annotations/{}", pointer_token(key))
}

/// Whether an annotation map (object or spec tag) says `autoredeploy.io/skip: "true"`.
pub fn skips(annotations: Option<&Value>) -> bool {
    annotations
        .and_then(|a| a.get(SKIP))
        .and_then(Value::as_str)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Whether the object's labels say `autoredeploy.io/skip: "true"` (the label the chart's
/// `objectSelector` excludes, read here too so that `mutate` and `scan` honour it).
pub fn skips_by_label(object: &Value) -> bool {
    skips(object.get("metadata").and_then(|m| m.get("labels")))
}

/// JSON pointer of an object label.
pub fn label_pointer(key: &str) -> String {
    format!("/metadata/labels/{}", pointer_token(key))
}

/// The controller that owns an object: the `metadata.ownerReferences` entry with
/// `controller: true` (the API server allows at most one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Its position in `ownerReferences`.
    pub index: usize,
    pub kind: String,
    pub name: String,
}

impl Owner {
    /// JSON pointer of its `ownerReferences` entry.
    pub fn pointer(&self) -> String {
        format!("/metadata/ownerReferences/{}", self.index)
    }
}

/// The object's controller, if an `ownerReferences` entry says `controller: true`.
pub fn controller_owner(object: &Value) -> Option<Owner> {
    let references = object.get("metadata")?.get("ownerReferences")?.as_array()?;
    references.iter().enumerate().find_map(|(index, owner)| {
        if owner.get("controller").and_then(Value::as_bool) != Some(true) {
            return None;
        }
        let field = |key: &str| {
            owner
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        Some(Owner {
            index,
            kind: field("kind"),
            name: field("name"),
        })
    })
}

/// Whether the object opts in to being managed although a controller owns it
/// (`autoredeploy.io/manage-owned: "true"`).
pub fn manages_owned(object: &Value) -> bool {
    get(object, MANAGE_OWNED).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Container names listed in `autoredeploy.io/skip-containers`.
pub fn skipped_containers(object: &Value) -> BTreeSet<String> {
    get(object, SKIP_CONTAINERS)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Container name -> tag from `autoredeploy.io/image-stream-tags`. Entries that do not read
/// as `name=stream:tag` are reported `unreadable`, and entries whose names OpenShift would
/// reject in a trigger `invalid-name` (the API server would fail the user's whole request);
/// both are ignored.
pub fn explicit_bindings(
    object: &Value,
    namespace: &str,
    report: &mut Report,
) -> BTreeMap<String, TagRef> {
    let mut bindings = BTreeMap::new();
    let Some(value) = get(object, IMAGE_STREAM_TAGS) else {
        return bindings;
    };
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let parsed = entry
            .split_once('=')
            .and_then(|(container, tag)| {
                Some((container.trim(), parse_tag_ref(tag.trim(), namespace)?))
            })
            .filter(|(container, _)| !container.is_empty());
        match parsed {
            Some((container, tag)) => match names::validate(&tag) {
                Ok(()) => {
                    bindings.insert(container.to_string(), tag);
                }
                Err(error) => report.finding(
                    Code::InvalidName,
                    pointer(IMAGE_STREAM_TAGS),
                    format!("ignored {IMAGE_STREAM_TAGS} entry {entry:?}: {error}"),
                ),
            },
            None => report.finding(
                Code::Unreadable,
                pointer(IMAGE_STREAM_TAGS),
                format!(
                    "ignored {IMAGE_STREAM_TAGS} entry {entry:?}: expected container=stream:tag"
                ),
            ),
        }
    }
    bindings
}

/// The ImageStreamTag a trigger's `from` (an ObjectReference) names; an empty or absent
/// `from.namespace` means `default_namespace`. A `from.name` without `:tag` never resolves,
/// but the container it names is still the user's: `Err` carries that tag-less reference.
pub fn trigger_source(from: Option<&Value>, default_namespace: &str) -> Result<TagRef, TagRef> {
    let field = |key: &str| from.and_then(|f| f.get(key)).and_then(Value::as_str);
    let name = field("name").unwrap_or("");
    let namespace = field("namespace")
        .filter(|ns| !ns.is_empty())
        .unwrap_or(default_namespace);
    parse_tag_ref(name, namespace).ok_or_else(|| TagRef {
        namespace: namespace.to_string(),
        stream: name.to_string(),
        tag: String::new(),
    })
}

/// `stream:tag` or `namespace/stream:tag`; both parts non-empty, no registry, no digest.
pub fn parse_tag_ref(text: &str, default_namespace: &str) -> Option<TagRef> {
    let (namespace, stream_tag) = match text.split_once('/') {
        Some((ns, rest)) => (ns, rest),
        None => (default_namespace, text),
    };
    let (stream, tag) = stream_tag.split_once(':')?;
    let valid = |s: &str| !s.is_empty() && !s.contains(['/', ':', '@', ' ', '"']);
    if !valid(stream) || !valid(tag) || (namespace != default_namespace && !valid(namespace)) {
        return None;
    }
    Some(TagRef {
        namespace: namespace.to_string(),
        stream: stream.to_string(),
        tag: tag.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn annotated(key: &str, value: &str) -> Value {
        json!({"metadata": {"annotations": {key: value}}})
    }

    #[test]
    fn explicit_bindings_accept_same_and_other_namespace_tags() {
        let object = annotated(IMAGE_STREAM_TAGS, "web=app:latest, init = other/tools:1");
        let mut report = Report::default();
        let bindings = explicit_bindings(&object, "shop", &mut report);
        assert_eq!(
            bindings["web"],
            parse_tag_ref("app:latest", "shop").unwrap()
        );
        assert_eq!(bindings["init"].namespace, "other");
        assert_eq!(bindings["init"].stream_tag(), "tools:1");
        assert!(report.findings.is_empty());
    }

    #[test]
    fn malformed_explicit_bindings_are_reported_unreadable() {
        let object = annotated(IMAGE_STREAM_TAGS, "web=app,=x:1,db=quay.io/a/b:1,ok=s:t");
        let mut report = Report::default();
        let bindings = explicit_bindings(&object, "", &mut report);
        assert_eq!(bindings.keys().collect::<Vec<_>>(), ["ok"]);
        assert_eq!(report.findings.len(), 3);
        assert!(report.findings.iter().all(|f| f.code == Code::Unreadable));
    }

    #[test]
    fn explicit_bindings_with_names_openshift_rejects_are_reported_invalid() {
        let object = annotated(
            IMAGE_STREAM_TAGS,
            "a=MyApp:latest,b=Team_A/app:1,c=app.:1,d=app:.x,ok=app:1",
        );
        let mut report = Report::default();
        let bindings = explicit_bindings(&object, "shop", &mut report);
        assert_eq!(bindings.keys().collect::<Vec<_>>(), ["ok"]);
        let codes: Vec<Code> = report.findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::InvalidName; 4]);
    }

    #[test]
    fn skip_and_skip_containers_are_read() {
        assert!(skips(
            annotated(SKIP, "true").pointer("/metadata/annotations")
        ));
        assert!(!skips(
            annotated(SKIP, "false").pointer("/metadata/annotations")
        ));
        let names = skipped_containers(&annotated(SKIP_CONTAINERS, "a, b,,"));
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(pointer(SKIP), "/metadata/annotations/autoredeploy.io~1skip");
    }

    #[test]
    fn the_skip_label_is_read_like_the_annotation() {
        let labelled = |value: Value| json!({"metadata": {"labels": {SKIP: value}}});
        assert!(skips_by_label(&labelled(json!("true"))));
        assert!(skips_by_label(&labelled(json!("True"))));
        assert!(!skips_by_label(&labelled(json!("false"))));
        assert!(!skips_by_label(&labelled(json!(true))));
        assert!(!skips_by_label(&annotated(SKIP, "true")));
        assert!(!skips_by_label(&json!({"metadata": {"labels": "x"}})));
        assert_eq!(
            label_pointer(SKIP),
            "/metadata/labels/autoredeploy.io~1skip"
        );
    }

    #[test]
    fn only_a_controller_reference_makes_an_owner() {
        let owned = |references: Value| json!({"metadata": {"ownerReferences": references}});
        let operator = json!({"apiVersion": "example.com/v1", "kind": "App", "name": "shop", "uid": "1", "controller": true});
        let plain = json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "2"});
        let not_controller = json!({"kind": "App", "name": "x", "controller": false});
        assert_eq!(
            controller_owner(&owned(json!([plain, not_controller, operator]))),
            Some(Owner {
                index: 2,
                kind: "App".into(),
                name: "shop".into()
            })
        );
        assert_eq!(controller_owner(&owned(json!([plain]))), None);
        assert_eq!(
            controller_owner(&owned(json!([{"controller": "true"}]))),
            None
        );
        assert_eq!(controller_owner(&owned(json!("junk"))), None);
        assert_eq!(controller_owner(&json!({})), None);
        let unnamed = controller_owner(&owned(json!([{"controller": true}]))).unwrap();
        assert_eq!(unnamed.pointer(), "/metadata/ownerReferences/0");
        assert_eq!((unnamed.kind.as_str(), unnamed.name.as_str()), ("?", "?"));
        assert!(manages_owned(&annotated(MANAGE_OWNED, " TRUE ")));
        assert!(!manages_owned(&annotated(MANAGE_OWNED, "yes")));
    }
}
