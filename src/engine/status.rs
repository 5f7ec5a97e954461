//! What the API server writes into an ImageStream's `status` that the import rules read: the
//! cluster registry's own host(s), and the platforms a tag's current image lists. Shared by the
//! engine (an offline object may carry its status) and the catalog (the stored stream's). Pure
//! reading; it must not decide anything.

use crate::pointer::Pointer;
use serde_json::Value;

use super::image_ref::normalise_registry;

/// Where the server writes `<registry host>/<namespace>/<name>` (openshift/openshift-apiserver
/// `pkg/image/apiserver/registry/imagestream/strategy.go`); the public one only when the
/// registry is exposed by a route.
const REPOSITORY_FIELDS: [&str; 2] = [
    "/status/dockerImageRepository",
    "/status/publicDockerImageRepository",
];

/// The registry hosts (service, route) in the stream's own status, normalised. A value counts
/// only in the `<host>/<namespace>/<name>` form the integrated registry writes: without an
/// integrated registry the server falls back to `spec.dockerImageRepository`, an external
/// repository whose host must not be mistaken for the cluster's own.
pub fn own_registry_hosts(object: &Value) -> Vec<String> {
    let name = object.at("/metadata/name").and_then(Value::as_str);
    let mut hosts = Vec::new();
    for field in REPOSITORY_FIELDS {
        let Some(repository) = object.at(field).and_then(Value::as_str) else {
            continue;
        };
        let mut parts = repository.split('/');
        let (Some(host), Some(_namespace), Some(stream), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if name.is_some_and(|n| n == stream) && !host.is_empty() {
            let host = normalise_registry(host);
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
    }
    hosts
}

/// How many platforms `status.tags[tag].items[0].platforms` lists (openshift/api
/// `image/v1/types.go` `TagEvent.platforms`): one per sub-manifest of a manifest list imported
/// with `PreserveOriginal`.
pub fn tag_platforms(object: &Value, tag: &str) -> Option<u32> {
    object
        .at("/status/tags")
        .and_then(Value::as_array)?
        .iter()
        .find(|t| t.get("tag").and_then(Value::as_str) == Some(tag))
        .and_then(status_tag_platforms)
}

/// The platform count of one `status.tags[]` entry's current image.
pub fn status_tag_platforms(status_tag: &Value) -> Option<u32> {
    let platforms = status_tag.at("/items/0/platforms")?.as_array()?;
    u32::try_from(platforms.len()).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn own_hosts_come_from_the_integrated_registry_form_only() {
        let stream = json!({"metadata": {"name": "web", "namespace": "shop"},
            "status": {
                "dockerImageRepository": "image-registry.openshift-image-registry.svc:5000/shop/web",
                "publicDockerImageRepository": "Default-Route.Apps.Example.com/shop/web"}});
        assert_eq!(
            own_registry_hosts(&stream),
            [
                "image-registry.openshift-image-registry.svc:5000",
                "default-route.apps.example.com"
            ]
        );
        // No integrated registry: the status repeats spec.dockerImageRepository.
        let fallback = json!({"metadata": {"name": "web"},
            "status": {"dockerImageRepository": "docker.io/library/nginx"}});
        assert!(own_registry_hosts(&fallback).is_empty());
    }

    #[test]
    fn platforms_are_counted_on_the_current_image() {
        let stream = json!({"status": {"tags": [
            {"tag": "multi", "items": [{"platforms": ["linux/amd64", "linux/arm64", "linux/s390x"]},
                                       {"platforms": ["linux/amd64"]}]},
            {"tag": "single", "items": [{"image": "sha256:1"}]}]}});
        assert_eq!(tag_platforms(&stream, "multi"), Some(3));
        assert_eq!(tag_platforms(&stream, "single"), None);
        assert_eq!(tag_platforms(&stream, "absent"), None);
    }
}
