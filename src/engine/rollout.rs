//! Double-rollout avoidance and the right digest (docs/rules.md, "The right image"). Re-applying a
//! manifest writes the literal image back over the digest a trigger wrote: one rollout, then the
//! trigger restores the digest, then another (openshift/origin#17404, openshift/release#705). So a
//! container whose image is an unresolved reference of the tag its trigger follows gets that tag's
//! current image from the catalog at once, on CREATE and on UPDATE alike (when the tag moved since,
//! that is one rollout to the right image). Without the catalog's answer, an UPDATE keeps the
//! running image only when the stored object's trigger followed the same tag and wrote that image.
//! Owns container `image`; it must not touch anything else.

use crate::pointer::Pointer;
use serde_json::Value;

use super::Context;
use super::Operation;
use super::binding::is_unresolved_reference;
use super::change::{Code, Report};
use super::containers::{self, Container};
use super::image_ref::same_image;
use super::triggers::Triggers;
use crate::engine::catalog::TagRef;

/// Where the container lives and what follows it.
pub struct Managed<'a> {
    pub triggers: &'a dyn Triggers,
    pub pod_spec: &'a str,
    pub container: &'a Container,
    pub tag: &'a TagRef,
}

pub fn avoid_double_rollout(
    object: &mut Value,
    managed: &Managed<'_>,
    context: &Context<'_>,
    report: &mut Report,
) {
    let Managed {
        pod_spec,
        container,
        tag,
        ..
    } = *managed;
    let Some(image) = container.image.as_deref() else {
        return;
    };
    if !is_unresolved_reference(image, tag, context) {
        return;
    }
    let current = context
        .catalog
        .tag_state(&tag.namespace, &tag.stream, &tag.tag)
        .and_then(|state| state.resolved);
    let stored = stored_image(managed, context);
    let (replacement, code, message) = match (current, stored) {
        // The stored spelling is kept: a respelled image would change the pod template.
        (Some(current), Some(stored)) if same_image(&stored.image, &current) => {
            let message = format!(
                "kept the running image of container {:?} ({})",
                container.name,
                tag.stream_tag()
            );
            (stored.image, Code::KeptRunningImage, message)
        }
        (Some(current), _) => {
            let message = format!(
                "set container {:?} to the current image of {}",
                container.name,
                tag.stream_tag()
            );
            (current, Code::ResolvedImage, message)
        }
        (None, Some(stored)) if stored.same_tag && stored.last_triggered => {
            let message = format!(
                "kept the running image of container {:?}, which its trigger for {} wrote",
                container.name,
                tag.stream_tag()
            );
            (stored.image, Code::KeptRunningImage, message)
        }
        (None, _) => return,
    };
    if replacement == image {
        return;
    }
    let pointer = format!("{}/image", container.pointer(pod_spec));
    if let Some(slot) = object.at_mut(&pointer) {
        *slot = Value::String(replacement);
        report.change(code, pointer, message);
    }
}

/// The stored object's image of this container, on UPDATE.
struct Stored {
    image: String,
    /// The stored object's trigger for this container followed the same tag.
    same_tag: bool,
    /// The controller recorded that image as the one it wrote (DC `lastTriggeredImage`).
    last_triggered: bool,
}

fn stored_image(managed: &Managed<'_>, context: &Context<'_>) -> Option<Stored> {
    if context.operation != Operation::Update {
        return None;
    }
    let old_object = context.old_object?;
    let old_containers = containers::read(old_object.at(managed.pod_spec));
    let name = managed.container.name.as_str();
    let old = containers::find(&old_containers, managed.container.list, name)?;
    let image = old.image.as_deref().filter(|i| !i.trim().is_empty())?;
    let followed =
        managed
            .triggers
            .followed_tag(old_object, &old_containers, name, context.namespace);
    let last = managed.triggers.last_triggered_image(old_object, name);
    Some(Stored {
        image: image.to_string(),
        same_tag: followed.as_ref() == Some(managed.tag),
        last_triggered: last.is_some_and(|last| same_image(last, image)),
    })
}
