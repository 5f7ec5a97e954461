//! Binding a container image to an ImageStreamTag (docs/rules.md, "Binding a container to a tag"):
//! internal-registry pull specs, short `stream[:tag]` names the catalog knows, and external
//! references a catalog tag imports. A binding must never change what a container runs and must
//! never name a tag that does not exist: a trigger on a missing tag freezes a DeploymentConfig, and
//! a trigger on the wrong stream swaps the image. Explicit annotations and existing triggers are
//! handled by the caller first. Pure lookups; it must not change the object.

use super::Context;
use super::change::Code;
use super::image_ref::{self, ImageRef, same_image};
use super::names;
use crate::engine::catalog::TagRef;

/// What a container image binds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// The tag to follow; `others` are further tags importing the same image; `via` how the
    /// image named it.
    Tag {
        tag: TagRef,
        others: Vec<TagRef>,
        via: Via,
    },
    /// Pinned to a digest: immutable, never bound (an internal `…@sha256:` is an
    /// ImageStreamImage, which triggers cannot follow).
    DigestPinned,
    /// A valid external reference no ImageStream imports.
    Untracked(ImageRef),
    /// Deliberately not bound; the finding says why.
    Refused { code: Code, message: String },
    /// Nothing to say (`" "`, empty, unparsable).
    Nothing,
}

/// How an image names the tag it binds to, in the documented order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A pull spec of the cluster's own registry, `<host>/<namespace>/<stream>:<tag>`.
    InternalRegistry,
    /// A short `stream[:tag]` name of a stream in the object's namespace.
    ShortName,
    /// An external reference a catalog tag imports.
    ExternalReference,
}

impl Binding {
    fn tag(tag: TagRef, via: Via) -> Self {
        Binding::Tag {
            tag,
            others: Vec::new(),
            via,
        }
    }

    fn refused(code: Code, message: String) -> Self {
        Binding::Refused { code, message }
    }
}

/// Bind one image, in the documented order (docs/rules.md) after the explicit annotation.
pub fn bind(image: &str, context: &Context<'_>) -> Binding {
    let Ok(parsed) = ImageRef::parse(image) else {
        return Binding::Nothing;
    };
    if parsed.is_digest_pinned() {
        return Binding::DigestPinned;
    }
    if is_internal(&parsed, context) {
        return bind_internal(image, &parsed, context);
    }
    let short = match short_name(image) {
        Some((stream, tag)) => match bind_short(image, stream, tag, context) {
            Ok(tag) => return Binding::tag(tag, Via::ShortName),
            Err(why) => why,
        },
        None => None,
    };
    let mut candidates = context
        .catalog
        .external_candidates(context.namespace, &parsed.canonical())
        .into_iter();
    match (candidates.next(), short) {
        (Some(tag), _) => Binding::Tag {
            tag,
            others: candidates.collect(),
            via: Via::ExternalReference,
        },
        (None, Some(why)) => Binding::refused(Code::AmbiguousImage, why),
        (None, None) => Binding::Untracked(parsed),
    }
}

fn is_internal(image: &ImageRef, context: &Context<'_>) -> bool {
    context
        .config
        .internal_registry_hosts
        .iter()
        .any(|host| host.eq_ignore_ascii_case(&image.registry))
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

/// Step 2, an internal-registry pull spec: the tag must exist, have valid names, and keep pulls in
/// the cluster.
fn bind_internal(image: &str, parsed: &ImageRef, context: &Context<'_>) -> Binding {
    let Some(tag) = internal_tag(parsed, context) else {
        return Binding::Nothing;
    };
    if let Err(error) = names::validate(&tag) {
        return Binding::refused(Code::InvalidName, format!("{image}: {error}"));
    }
    let Some(state) = context
        .catalog
        .tag_state(&tag.namespace, &tag.stream, &tag.tag)
    else {
        return Binding::refused(
            Code::UnknownTag,
            format!(
                "{image} names {}/{}, which no known ImageStream has; no trigger added",
                tag.namespace,
                tag.stream_tag()
            ),
        );
    };
    // With `referencePolicy: Source` a trigger writes the tag's external source
    // (library-go `ResolveLatestTaggedImage`): pulls would leave the cluster's registry,
    // which breaks disconnected and egress-restricted clusters.
    let resolves_outside = match (&state.resolved, &state.source) {
        (Some(resolved), _) => ImageRef::parse(resolved)
            .map(|r| !is_internal(&r, context))
            .unwrap_or(false),
        (None, Some(_)) => true,
        (None, None) => false,
    };
    if !state.local_reference && resolves_outside {
        return Binding::refused(
            Code::ReferencePolicySource,
            format!(
                "{image} pulls through the cluster registry, but {} has referencePolicy Source, so a trigger would pull from {}; set referencePolicy.type: Local on that tag to bind it",
                tag.stream_tag(),
                state.source.as_deref().unwrap_or("its external source")
            ),
        );
    }
    Binding::tag(tag, Via::InternalRegistry)
}

/// A one-segment `stream[:tag]` (no registry, no digest); a bare `stream` means
/// `stream:latest`.
fn short_name(image: &str) -> Option<(&str, &str)> {
    if image.contains(['/', '@']) {
        return None;
    }
    Some(
        image
            .split_once(':')
            .unwrap_or((image, image_ref::DEFAULT_TAG)),
    )
}

/// Step 3, a short name. `Err(Some(why))` when a stream of that name exists but may not be
/// bound; `Err(None)` when there is no such stream.
fn bind_short(
    image: &str,
    stream: &str,
    tag: &str,
    context: &Context<'_>,
) -> Result<TagRef, Option<String>> {
    let namespace = context.namespace;
    if !context.catalog.has_stream(namespace, stream) {
        return Err(None);
    }
    let Some(state) = context.catalog.tag_state(namespace, stream, tag) else {
        return Err(Some(format!(
            "{image} is not bound to ImageStream {stream}: it has no tag {tag:?}, and no ImageStream imports {}",
            docker_hub_reading(image)
        )));
    };
    // Local lookup counts only where ImagePolicy admission applies it.
    let local_lookup = context.catalog.local_lookup(namespace, stream);
    let safe = !state.reference_only
        && ((local_lookup && context.image_policy)
            || context.resolve_names
            || state.source.is_none()
            || state
                .source
                .as_deref()
                .is_some_and(|s| same_image(s, image)));
    if !safe && local_lookup && !context.image_policy {
        return Err(Some(format!(
            "{image} means {} on Docker Hub, and OpenShift's ImagePolicy admission does not resolve short names in namespace {namespace}, so ImageStream {stream}'s lookupPolicy.local does not apply; write the image in full",
            docker_hub_reading(image),
        )));
    }
    if !safe {
        return Err(Some(format!(
            "{image} means {} on Docker Hub, but ImageStream tag {stream}:{tag} {}; set lookupPolicy.local: true on the stream, or write the image in full",
            docker_hub_reading(image),
            match (&state.source, state.reference_only) {
                (Some(source), false) => format!("tracks {source}"),
                (Some(source), true) => format!("only references {source} (reference: true)"),
                (None, _) => "is not imported".to_string(),
            }
        )));
    }
    Ok(TagRef {
        namespace: namespace.to_string(),
        stream: stream.to_string(),
        tag: tag.to_string(),
    })
}

/// The tag a short name the user wrote (`written`, from the last-applied manifest) binds to,
/// when `image`, what the object holds, is what OpenShift's ImagePolicy admission made of it
/// (docs/rules.md, "What the manifest said"): the tag's current image, or before the tag's
/// first import its pull spec in the cluster's registry
/// (`<registry>/<namespace>/<stream>:<tag>`). ImagePolicy runs before mutating webhooks, so
/// the webhook never sees the short name itself.
pub fn resolved_by_image_policy(
    image: &str,
    written: &str,
    context: &Context<'_>,
) -> Option<TagRef> {
    let (stream, tag) = short_name(written)?;
    let tag = bind_short(written, stream, tag, context).ok()?;
    let parsed = ImageRef::parse(image).ok()?;
    let current = context
        .catalog
        .tag_state(&tag.namespace, &tag.stream, &tag.tag)
        .and_then(|state| state.resolved);
    let resolved = match current {
        Some(current) => same_image(&current, image),
        None => {
            !parsed.is_digest_pinned()
                && parsed.path == format!("{}/{}", tag.namespace, tag.stream)
                && parsed.effective_tag() == Some(tag.tag.as_str())
                && registry_hosts(&tag, context)
                    .any(|host| host.eq_ignore_ascii_case(&parsed.registry))
        }
    };
    resolved.then_some(tag)
}

/// Whether `image` has the shape of what ImagePolicy writes (a digest, or a pull spec in the
/// cluster registry): only then is what the manifest said worth reading.
pub fn may_be_resolved_by_image_policy(image: &str, context: &Context<'_>) -> bool {
    ImageRef::parse(image)
        .is_ok_and(|parsed| parsed.is_digest_pinned() || is_internal(&parsed, context))
}

/// The cluster registry's hosts, normalised: the configured ones and those in the stream's
/// status.
pub(super) fn registry_hosts<'a>(
    tag: &'a TagRef,
    context: &'a Context<'_>,
) -> impl Iterator<Item = String> + 'a {
    context
        .config
        .internal_registry_hosts
        .iter()
        .cloned()
        .chain(
            context
                .catalog
                .own_registry_hosts(&tag.namespace, &tag.stream),
        )
        .map(|host| image_ref::normalise_registry(&host))
}

fn docker_hub_reading(image: &str) -> String {
    image_ref::canonical(image).unwrap_or_else(|| image.to_string())
}

/// Whether `image` is a not-yet-resolved way of naming `tag`: blank (`" "`, the `oc new-app`
/// convention), the trigger's own `stream:tag` text (`stream` for `latest`) in its own
/// namespace, a name that binds to it (its internal pull spec, its external source), or the
/// external source of that very tag.
pub fn is_unresolved_reference(image: &str, tag: &TagRef, context: &Context<'_>) -> bool {
    if image.trim().is_empty() || names_own_tag(image, tag, context) {
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
    if matches!(bind(image, context), Binding::Tag { tag: bound, .. } if bound == *tag) {
        return true;
    }
    context
        .catalog
        .tag_state(&tag.namespace, &tag.stream, &tag.tag)
        .and_then(|state| state.source)
        .is_some_and(|source| same_image(&source, image))
}

/// `image` spelled as the trigger's own `from.name` (`hello:latest`, or `hello` for `latest`)
/// in the trigger's own namespace: the classic DeploymentConfig template's
/// `image: hello:latest` under its ImageChange trigger for `hello:latest`. The trigger names
/// the tag, so whatever the stream's `lookupPolicy`, this text means that tag: the
/// `lookupPolicy` test is for binding a container that has no trigger yet.
fn names_own_tag(image: &str, tag: &TagRef, context: &Context<'_>) -> bool {
    tag.namespace == context.namespace
        && short_name(image).is_some_and(|(stream, t)| stream == tag.stream && t == tag.tag)
}

/// What to tell the user about an image no tag imports: the command or edit that would make
/// one track it, true for the catalog at hand.
pub fn untracked_advice(image: &ImageRef, context: &Context<'_>) -> String {
    let canonical = image.canonical();
    if let Some(tag) = context.catalog.reference_tag(context.namespace, &canonical) {
        return format!(
            "ImageStream tag {} names {image} with reference: true, so it is never imported; set reference: false and importPolicy.scheduled: true on it",
            tag.stream_tag()
        );
    }
    let stream = image.path.rsplit('/').next().unwrap_or(&image.path);
    let tag = image.effective_tag().unwrap_or(image_ref::DEFAULT_TAG);
    if !context.catalog.has_stream(context.namespace, stream) {
        return format!(
            "no ImageStream tracks {image}; run: oc import-image {stream}:{tag} --from={image} --confirm --scheduled"
        );
    }
    if context
        .catalog
        .tag_state(context.namespace, stream, tag)
        .is_none()
    {
        return format!(
            "no ImageStream tracks {image}; add tag {tag:?} with from {{kind: DockerImage, name: {image}}} and importPolicy.scheduled: true to ImageStream {stream}"
        );
    }
    // That tag tracks another image: following the usual advice would replace its source
    // under whatever follows it now.
    let free = free_stream_name(image, stream, context);
    format!(
        "no ImageStream tracks {image}; ImageStream {stream} uses tag {tag:?} for another image: add it there under a new tag name, or run: oc import-image {free}:{tag} --from={image} --confirm --scheduled"
    )
}

/// A stream name the namespace does not use yet, for an image whose usual stream name is
/// taken: the repository path joined with `-` (`example-other`), else `<stream>-2`, `-3`...
fn free_stream_name(image: &ImageRef, stream: &str, context: &Context<'_>) -> String {
    let joined = image.path.replace('/', "-");
    std::iter::once(joined)
        .chain((2..100).map(|n| format!("{stream}-{n}")))
        .find(|name| {
            names::valid_stream(name) && !context.catalog.has_stream(context.namespace, name)
        })
        .unwrap_or_else(|| format!("{stream}-new"))
}

#[cfg(test)]
mod tests;
