//! `imagePullPolicy` of trigger-managed containers (docs/rules.md, "Pull policy"). The trigger writes a digest,
//! so `Always` only costs registry round trips (Docker Hub quota); but the API server fixes
//! the policy once at creation from the image string and we receive it already defaulted
//! (kubernetes `pkg/apis/core/v1/defaults.go` `SetDefaults_Container`), so only the value Kubernetes itself would have chosen is
//! replaced. Owns `imagePullPolicy`; it must not touch anything else.

use crate::pointer::Pointer;
use serde_json::Value;

use super::change::{Code, Report};
use super::containers::Container;
use super::image_ref::ImageRef;
use crate::config::{PullPolicyHandling, RuleConfig};

const IF_NOT_PRESENT: &str = "IfNotPresent";
const ALWAYS: &str = "Always";

/// Set `IfNotPresent` when the policy is absent, or is `Always` and `Always` is what
/// defaulting gives for the container's image (tag `latest`, or neither tag nor digest).
pub fn ensure(
    object: &mut Value,
    pod_spec: &str,
    container: &Container,
    config: &RuleConfig,
    report: &mut Report,
) {
    if config.pull_policy == PullPolicyHandling::Keep {
        return;
    }
    let pointer = container.pointer(pod_spec);
    let Some(entry) = object.at_mut(&pointer).and_then(Value::as_object_mut) else {
        return;
    };
    let replace = match entry.get("imagePullPolicy") {
        None | Some(Value::Null) => true,
        Some(Value::String(policy)) if policy == ALWAYS => container
            .image
            .as_deref()
            .and_then(|image| ImageRef::parse(image).ok())
            .is_some_and(|image| image.defaults_to_always_pull()),
        Some(_) => false,
    };
    if replace {
        entry.insert(
            "imagePullPolicy".into(),
            Value::String(IF_NOT_PRESENT.into()),
        );
        report.change(
            Code::PullPolicy,
            format!("{pointer}/imagePullPolicy"),
            format!(
                "set imagePullPolicy IfNotPresent on container {:?}: its trigger pins a digest",
                container.name
            ),
        );
    }
}
