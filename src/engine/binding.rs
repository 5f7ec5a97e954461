//! Binding a container image to an ImageStreamTag (SPEC §1.2): internal-registry pull specs,
//! short `stream:tag` names the catalog knows, and external references a catalog tag
//! imports. Explicit annotations and existing triggers are handled by the caller first.
//! Pure lookups; it must not change the object.

use super::Context;
use super::image_ref::{self, ImageRef};
use crate::catalog::TagRef;

/// What a container image binds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    Tag(TagRef),
    /// Pinned to a digest: immutable, never bound (an internal `…@sha256:` is an
    /// ImageStreamImage, which triggers cannot follow).
    DigestPinned,
    /// A valid external reference no ImageStream imports.
    Untracked(ImageRef),
    /// Nothing to say (`" "`, empty, unparsable).
    Nothing,
}

/// Bind one image, in the order of SPEC §1.2 after the explicit annotation.
pub fn bind(image: &str, context: &Context<'_>) -> Binding {
    let Ok(parsed) = ImageRef::parse(image) else {
        return Binding::Nothing;
    };
    if parsed.is_digest_pinned() {
        return Binding::DigestPinned;
    }
    if is_internal(&parsed, context) {
        return internal_tag(&parsed, context).map_or(Binding::Nothing, Binding::Tag);
    }
    if let Some(tag) = short_tag(image, context) {
        return Binding::Tag(tag);
    }
    match context
        .catalog
        .find_external(context.namespace, &parsed.canonical())
    {
        Some(tag) => Binding::Tag(tag),
        None => Binding::Untracked(parsed),
    }
}

fn is_internal(image: &ImageRef, context: &Context<'_>) -> bool {
    context
        .config
        .internal_registry_hosts
        .contains(&image.registry)
}

/// `<internal-host>/<namespace>/<stream>:<tag>` names the tag directly (§5.2).
fn internal_tag(image: &ImageRef, context: &Context<'_>) -> Option<TagRef> {
    if !is_internal(image, context) || image.is_digest_pinned() {
        return None;
    }
    let (namespace, stream) = image.path.split_once('/')?;
    if stream.contains('/') {
        return None;
    }
    Some(TagRef {
        namespace: namespace.to_string(),
        stream: stream.to_string(),
        tag: image.effective_tag()?.to_string(),
    })
}

/// A one-segment `stream[:tag]` naming a stream of the object's namespace: what
/// `lookupPolicy.local` resolves and what `oc new-app` writes for DCs.
fn short_tag(image: &str, context: &Context<'_>) -> Option<TagRef> {
    if image.contains(['/', '@']) {
        return None;
    }
    let (stream, tag) = image
        .split_once(':')
        .unwrap_or((image, image_ref::DEFAULT_TAG));
    context
        .catalog
        .has_stream(context.namespace, stream)
        .then(|| TagRef {
            namespace: context.namespace.to_string(),
            stream: stream.to_string(),
            tag: tag.to_string(),
        })
}

/// Whether `image` is a not-yet-resolved way of naming `tag`: blank (`" "`, the `oc new-app`
/// convention), the tag's external source, `stream:tag`, or its internal pull spec.
pub fn is_unresolved_reference(image: &str, tag: &TagRef, context: &Context<'_>) -> bool {
    if image.trim().is_empty() {
        return true;
    }
    if tag.namespace == context.namespace && image == tag.stream_tag() {
        return true;
    }
    let Ok(parsed) = ImageRef::parse(image) else {
        return false;
    };
    if parsed.is_digest_pinned() {
        return false;
    }
    if internal_tag(&parsed, context).as_ref() == Some(tag) {
        return true;
    }
    context
        .catalog
        .tag_state(&tag.namespace, &tag.stream, &tag.tag)
        .and_then(|state| state.source)
        .is_some_and(|source| image_ref::same_image(&source, image))
}

/// The command that makes an ImageStream track `image` (for the `untracked-image` finding).
pub fn import_hint(image: &ImageRef) -> String {
    let stream = image.path.rsplit('/').next().unwrap_or(&image.path);
    let tag = image.effective_tag().unwrap_or(image_ref::DEFAULT_TAG);
    format!("oc import-image {stream}:{tag} --from={image} --confirm --scheduled")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::CatalogIndex;
    use crate::config::RuleConfig;
    use crate::engine::Operation;

    fn with_context<T>(f: impl FnOnce(&Context<'_>) -> T) -> T {
        let stream = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": "app", "namespace": "shop"},
            "spec": {"tags": [{"name": "1", "from": {"kind": "DockerImage", "name": "org/app:1"}}]}});
        let catalog = CatalogIndex::from_objects([&stream], "");
        let config = RuleConfig::default();
        let context = Context {
            namespace: "shop",
            catalog: &catalog,
            config: &config,
            operation: Operation::Create,
            old_object: None,
        };
        f(&context)
    }

    fn tag(ns: &str, stream: &str, tag: &str) -> TagRef {
        TagRef {
            namespace: ns.into(),
            stream: stream.into(),
            tag: tag.into(),
        }
    }

    #[test]
    fn images_bind_in_the_documented_order() {
        with_context(|cx| {
            let internal = "image-registry.openshift-image-registry.svc:5000/other/base:2";
            assert_eq!(bind(internal, cx), Binding::Tag(tag("other", "base", "2")));
            assert_eq!(bind("app:7", cx), Binding::Tag(tag("shop", "app", "7")));
            assert_eq!(
                bind("docker.io/org/app:1", cx),
                Binding::Tag(tag("shop", "app", "1"))
            );
            assert!(matches!(bind("org/other:1", cx), Binding::Untracked(_)));
            assert_eq!(bind(" ", cx), Binding::Nothing);
            let pinned = format!(
                "{}@sha256:{}",
                "image-registry.openshift-image-registry.svc:5000/shop/app",
                "0".repeat(64)
            );
            assert_eq!(bind(&pinned, cx), Binding::DigestPinned);
        });
    }

    #[test]
    fn unresolved_references_are_recognised() {
        with_context(|cx| {
            let app = tag("shop", "app", "1");
            for image in [
                " ",
                "",
                "app:1",
                "org/app:1",
                "docker.io/org/app:1",
                "image-registry.openshift-image-registry.svc:5000/shop/app:1",
            ] {
                assert!(is_unresolved_reference(image, &app, cx), "{image:?}");
            }
            for image in [
                "org/app:2",
                "org/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            ] {
                assert!(!is_unresolved_reference(image, &app, cx), "{image:?}");
            }
        });
    }

    #[test]
    fn import_hint_names_stream_tag_and_source() {
        let image = ImageRef::parse("docker.io/org/app").unwrap();
        assert_eq!(
            import_hint(&image),
            "oc import-image app:latest --from=docker.io/org/app:latest --confirm --scheduled"
        );
    }
}
