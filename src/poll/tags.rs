//! Which ImageStream tags the poller watches: exactly the tags the webhook would schedule
//! (`engine::imagestream`'s importable tags: a `DockerImage` source, not a reference, not
//! pinned to a digest, not the cluster's own registry, allowed by the repository filter, not
//! opted out) whose registry is polled (`--polled-registry`) and which are not scheduled
//! already (OpenShift imports those itself). A stream the webhook leaves alone as a whole
//! (`autoredeploy.io/skip` annotation or label, or owned by a controller without
//! `autoredeploy.io/manage-owned`) is not polled either. Pure.

use serde_json::Value;

use crate::config::RuleConfig;
use crate::engine::{annotations, budget, status};
use crate::image_ref::ImageRef;
use crate::pointer::{Pointer as _, items};

/// One tag to poll, with what its `ImageStreamImport` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PolledTag {
    pub namespace: String,
    pub stream: String,
    pub tag: String,
    /// `from.name` as written.
    pub from: String,
    /// Normalised registry (`docker.io`).
    pub registry: String,
    /// Repository path in the registry (`library/nginx`).
    pub path: String,
    /// The tag or digest asked for in the manifest URL.
    pub reference: String,
    /// `importPolicy.insecure`: the registry may be spoken to over plain HTTP.
    pub insecure: bool,
    pub import_policy: Value,
    pub reference_policy: Value,
    /// The digest the tag's newest status item holds (what OpenShift imported last).
    pub status_digest: Option<String>,
    /// Pulls one import costs (one, or one per platform with `PreserveOriginal`).
    pub pulls: u32,
}

impl PolledTag {
    /// `namespace/stream:tag`, the key of the poller's state.
    pub fn key(&self) -> String {
        format!("{}/{}:{}", self.namespace, self.stream, self.tag)
    }

    /// The `ImageStreamImport` that `oc import-image stream:tag` creates for this tag.
    pub fn image_stream_import(&self) -> Value {
        let mut image = serde_json::json!({
            "from": {"kind": budget::DOCKER_IMAGE, "name": self.from},
            "to": {"name": self.tag},
        });
        if !self.import_policy.is_null() {
            image["importPolicy"] = self.import_policy.clone();
        }
        if !self.reference_policy.is_null() {
            image["referencePolicy"] = self.reference_policy.clone();
        }
        serde_json::json!({
            "apiVersion": "image.openshift.io/v1",
            "kind": "ImageStreamImport",
            "metadata": {"name": self.stream, "namespace": self.namespace},
            "spec": {"import": true, "images": [image]},
            "status": {},
        })
    }
}

/// The tags of one ImageStream (as the API returns it) that the poller watches.
pub fn polled_tags(stream: &Value, config: &RuleConfig) -> Vec<PolledTag> {
    let (Some(namespace), Some(name)) = (
        stream.at("/metadata/namespace").and_then(Value::as_str),
        stream.at("/metadata/name").and_then(Value::as_str),
    ) else {
        return Vec::new();
    };
    if annotations::skips(stream.at("/metadata/annotations"))
        || annotations::skips_by_label(stream)
        || (annotations::controller_owner(stream).is_some() && !annotations::manages_owned(stream))
    {
        return Vec::new();
    }
    let mut internal = config.internal_registry_hosts.clone();
    internal.extend(status::own_registry_hosts(stream));
    // Tags whose HEAD was refused: the webhook schedules them (within budget) instead.
    let unpollable = annotations::unpollable_tags(stream);
    items(stream, "/spec/tags")
        .filter_map(|entry| {
            let tag = entry.get("name")?.as_str()?;
            let from = entry.get("from")?;
            if from.get("kind")?.as_str()? != budget::DOCKER_IMAGE
                || entry.get("reference").and_then(Value::as_bool) == Some(true)
                || annotations::skips(entry.get("annotations"))
                || budget::is_scheduled(entry)
                || unpollable.contains(tag)
            {
                return None;
            }
            let from_name = from.get("name")?.as_str()?;
            let image = ImageRef::parse(from_name).ok()?;
            if image.is_digest_pinned()
                || internal.contains(&image.registry)
                || !config.repositories.allows(&image.repository())
                || !config.is_polled(&image.registry)
            {
                return None;
            }
            let reference = image.effective_tag()?.to_string();
            let preserve = config.preserve_original || budget::preserves_original(entry);
            Some(PolledTag {
                namespace: namespace.to_string(),
                stream: name.to_string(),
                tag: tag.to_string(),
                from: from_name.to_string(),
                path: image.path.clone(),
                registry: image.registry,
                reference,
                insecure: entry
                    .at("/importPolicy/insecure")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                import_policy: entry.get("importPolicy").cloned().unwrap_or(Value::Null),
                reference_policy: entry.get("referencePolicy").cloned().unwrap_or(Value::Null),
                status_digest: status_digest(stream, tag),
                pulls: budget::pulls_per_import(preserve, status::tag_platforms(stream, tag)),
            })
        })
        .collect()
}

/// The JSON merge patch that adds `tags` to the stream's `autoredeploy.io/unpollable-tags`
/// (sorted, without duplicates), or `None` when they are all listed already. It carries the
/// stream's `resourceVersion` when known, so the API server refuses it (`409`) if the stream
/// changed since it was read: it never writes over a value the user just wrote, and touches
/// no other field.
pub fn unpollable_patch<'a>(
    stream: &Value,
    tags: impl IntoIterator<Item = &'a str>,
) -> Option<Value> {
    let mut listed = annotations::unpollable_tags(stream);
    let before = listed.len();
    listed.extend(tags.into_iter().map(str::to_string));
    if listed.len() == before {
        return None;
    }
    let value: Vec<String> = listed.into_iter().collect();
    let mut metadata = serde_json::json!({
        "annotations": {annotations::UNPOLLABLE_TAGS: value.join(",")},
    });
    if let Some(version) = stream
        .at("/metadata/resourceVersion")
        .and_then(Value::as_str)
    {
        metadata["resourceVersion"] = Value::String(version.to_string());
    }
    Some(serde_json::json!({"metadata": metadata}))
}

/// The image of the newest status item of `tag`.
fn status_digest(stream: &Value, tag: &str) -> Option<String> {
    items(stream, "/status/tags")
        .find(|t| t.get("tag").and_then(Value::as_str) == Some(tag))?
        .at("/items/0/image")?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> RuleConfig {
        RuleConfig {
            polled_registries: vec!["docker.io".into(), "127.0.0.1:5000".into()],
            ..RuleConfig::default()
        }
    }

    fn stream(tags: Value, status: Value) -> Value {
        json!({"metadata": {"namespace": "shop", "name": "app"},
               "spec": {"tags": tags}, "status": {"tags": status}})
    }

    #[test]
    fn polls_what_the_webhook_would_schedule_on_a_polled_registry() {
        let s = stream(
            json!([
                {"name": "hub", "from": {"kind": "DockerImage", "name": "nginx"},
                 "importPolicy": {"importMode": "Legacy"}, "referencePolicy": {"type": "Local"}},
                {"name": "quay", "from": {"kind": "DockerImage", "name": "quay.io/o/a:1"}},
                {"name": "sched", "from": {"kind": "DockerImage", "name": "nginx:2"},
                 "importPolicy": {"scheduled": true}},
                {"name": "pinned", "from": {"kind": "DockerImage", "name": "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000"}},
                {"name": "ref", "reference": true, "from": {"kind": "DockerImage", "name": "nginx:3"}},
                {"name": "skip", "annotations": {"autoredeploy.io/skip": "true"},
                 "from": {"kind": "DockerImage", "name": "nginx:4"}},
                {"name": "istag", "from": {"kind": "ImageStreamTag", "name": "app:hub"}},
                {"name": "local", "from": {"kind": "DockerImage", "name": "127.0.0.1:5000/t/x:1"},
                 "importPolicy": {"insecure": true}}
            ]),
            json!([{"tag": "hub", "items": [{"image": "sha256:aa"}, {"image": "sha256:bb"}]}]),
        );
        let tags = polled_tags(&s, &config());
        let names: Vec<&str> = tags.iter().map(|t| t.tag.as_str()).collect();
        assert_eq!(names, ["hub", "local"]);
        let hub = &tags[0];
        assert_eq!(hub.key(), "shop/app:hub");
        assert_eq!(
            (
                hub.registry.as_str(),
                hub.path.as_str(),
                hub.reference.as_str()
            ),
            ("docker.io", "library/nginx", "latest")
        );
        assert_eq!(hub.status_digest.as_deref(), Some("sha256:aa"));
        assert!(!hub.insecure && tags[1].insecure);
        assert_eq!(
            hub.image_stream_import(),
            json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamImport",
                "metadata": {"name": "app", "namespace": "shop"},
                "spec": {"import": true, "images": [{
                    "from": {"kind": "DockerImage", "name": "nginx"}, "to": {"name": "hub"},
                    "importPolicy": {"importMode": "Legacy"},
                    "referencePolicy": {"type": "Local"}}]},
                "status": {}})
        );
    }

    #[test]
    fn a_stream_the_webhook_leaves_alone_is_not_polled() {
        let hub = json!([{"name": "hub", "from": {"kind": "DockerImage", "name": "nginx"}}]);
        let owner = json!([{"kind": "Shop", "name": "main", "uid": "u", "controller": true}]);
        let mut annotated = stream(hub.clone(), json!([]));
        annotated["metadata"]["annotations"] = json!({"autoredeploy.io/skip": "true"});
        let mut labelled = stream(hub.clone(), json!([]));
        labelled["metadata"]["labels"] = json!({"autoredeploy.io/skip": "true"});
        let mut owned = stream(hub.clone(), json!([]));
        owned["metadata"]["ownerReferences"] = owner.clone();
        for s in [&annotated, &labelled, &owned] {
            assert!(polled_tags(s, &config()).is_empty(), "{s}");
        }
        let mut opted_in = stream(hub, json!([]));
        opted_in["metadata"]["ownerReferences"] = owner;
        opted_in["metadata"]["annotations"] = json!({"autoredeploy.io/manage-owned": "true"});
        assert_eq!(polled_tags(&opted_in, &config()).len(), 1);
    }

    #[test]
    fn unpollable_tags_are_not_polled_and_the_patch_adds_only_new_ones() {
        let mut s = stream(
            json!([
                {"name": "a", "from": {"kind": "DockerImage", "name": "team/a:1"}},
                {"name": "b", "from": {"kind": "DockerImage", "name": "team/b:1"}},
                {"name": "c", "from": {"kind": "DockerImage", "name": "team/c:1"}}
            ]),
            json!([]),
        );
        s["metadata"]["resourceVersion"] = json!("42");
        s["metadata"]["annotations"] = json!({"autoredeploy.io/unpollable-tags": "c, a"});
        let names: Vec<String> = (polled_tags(&s, &config()).into_iter())
            .map(|t| t.tag)
            .collect();
        assert_eq!(names, ["b"]);
        assert_eq!(unpollable_patch(&s, ["a", "c"]), None);
        assert_eq!(
            unpollable_patch(&s, ["b"]),
            Some(json!({"metadata": {"resourceVersion": "42",
                "annotations": {"autoredeploy.io/unpollable-tags": "a,b,c"}}}))
        );
    }

    #[test]
    fn nothing_is_polled_without_polled_registries() {
        let s = stream(
            json!([{"name": "hub", "from": {"kind": "DockerImage", "name": "nginx"}}]),
            json!([]),
        );
        assert!(polled_tags(&s, &RuleConfig::default()).is_empty());
    }
}
