//! `imagePullPolicy` of trigger-managed containers (docs/rules.md, "Pull policy"). The trigger
//! writes a digest, so `Always` only costs registry round trips (Docker Hub quota); but the API
//! server fixes the policy once at creation from the image string and we receive it already
//! defaulted (kubernetes `pkg/apis/core/v1/defaults.go` `SetDefaults_Container`), so only the value
//! Kubernetes itself would have chosen is replaced. What the manifest said decides first
//! (`super::intent`): a policy the user wrote stays, and one Kubernetes defaulted is judged by the
//! image the user wrote, which ImagePolicy admission may have replaced with a digest before the
//! webhook saw it. Owns `imagePullPolicy`; it must not touch anything else.

use crate::pointer::Pointer;
use serde_json::Value;

use super::change::{Code, Report};
use super::containers::Container;
use super::image_ref::ImageRef;
use super::intent::{Intent, Policy};
use crate::config::{PullPolicyHandling, RuleConfig};

const IF_NOT_PRESENT: &str = "IfNotPresent";
const ALWAYS: &str = "Always";

/// Set `IfNotPresent` when the policy is absent, or is `Always` and `Always` is what
/// defaulting gave for the image the user wrote (tag `latest`, or neither tag nor digest),
/// unless the user wrote the policy.
pub fn ensure(
    object: &mut Value,
    pod_spec: &str,
    container: &Container,
    intent: &Intent,
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
        Some(Value::String(policy)) if policy == ALWAYS => {
            let written_image = intent.image(container);
            let defaulted = written_image
                .as_deref()
                .or(container.image.as_deref())
                .and_then(|image| ImageRef::parse(image).ok())
                .is_some_and(|image| image.defaults_to_always_pull());
            if intent.pull_policy(container) == Policy::Written {
                if defaulted {
                    report.finding(
                        Code::PullPolicyKept,
                        format!("{pointer}/imagePullPolicy"),
                        format!(
                            "kept imagePullPolicy Always on container {:?}: the manifest sets it; the kubelet asks the registry at every container start although its trigger pins a digest",
                            container.name
                        ),
                    );
                }
                false
            } else {
                defaulted
            }
        }
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
