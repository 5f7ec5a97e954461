//! Double-rollout avoidance (SPEC §1.4). Re-applying a manifest writes the literal image back
//! over the digest a trigger wrote: one rollout, then the trigger restores the digest, then
//! another (openshift/origin#17404, openshift/release#705). On CREATE a container gets the
//! tag's resolved image at once; on UPDATE an unresolved reference keeps the image that is
//! running. Owns container `image`; it must not touch anything else.

use serde_json::Value;

use super::Context;
use super::Operation;
use super::binding::is_unresolved_reference;
use super::change::{Code, Report};
use super::containers::{self, Container};
use super::deploymentconfig;
use super::image_ref::same_image;
use super::kind::Kind;
use crate::catalog::TagRef;

pub fn avoid_double_rollout(
    object: &mut Value,
    kind: Kind,
    pod_spec: &str,
    container: &Container,
    tag: &TagRef,
    context: &Context<'_>,
    report: &mut Report,
) {
    let Some(image) = container.image.as_deref() else {
        return;
    };
    if !is_unresolved_reference(image, tag, context) {
        return;
    }
    let resolved = context
        .catalog
        .tag_state(&tag.namespace, &tag.stream, &tag.tag)
        .and_then(|state| state.resolved);
    let (replacement, code, message) = match context.operation {
        Operation::Create => {
            let Some(resolved) = resolved else { return };
            let message = format!(
                "set container {:?} to the current image of {}",
                container.name,
                tag.stream_tag()
            );
            (resolved, Code::ResolvedImage, message)
        }
        Operation::Update => {
            let Some(running) =
                running_image(kind, pod_spec, container, resolved.as_deref(), context)
            else {
                return;
            };
            let message = format!(
                "kept the running image of container {:?} ({})",
                container.name,
                tag.stream_tag()
            );
            (running, Code::KeptRunningImage, message)
        }
    };
    if replacement == image {
        return;
    }
    let pointer = format!("{}/image", container.pointer(pod_spec));
    if let Some(slot) = object.pointer_mut(&pointer) {
        *slot = Value::String(replacement);
        report.change(code, pointer, message);
    }
}

/// The old object's image for this container, when it is the tag's resolved image: the
/// catalog's answer, or (DC) the trigger's `lastTriggeredImage` equal to that old image.
fn running_image(
    kind: Kind,
    pod_spec: &str,
    container: &Container,
    resolved: Option<&str>,
    context: &Context<'_>,
) -> Option<String> {
    let old_object = context.old_object?;
    let old_containers = containers::read(old_object.pointer(pod_spec));
    let old = containers::find(&old_containers, container.list, &container.name)?;
    let old_image = old.image.as_deref().filter(|i| !i.trim().is_empty())?;
    let by_catalog = resolved.is_some_and(|r| same_image(r, old_image));
    let by_trigger = kind == Kind::DeploymentConfig
        && deploymentconfig::last_triggered_image(old_object, &container.name) == Some(old_image);
    (by_catalog || by_trigger).then(|| old_image.to_string())
}
