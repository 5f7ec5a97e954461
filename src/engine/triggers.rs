//! The one interface both trigger families implement: DeploymentConfig `spec.triggers` and
//! the `image.openshift.io/triggers` annotation of the four kinds OpenShift's annotation
//! trigger controller watches. `workload` drives a family through it and never needs to
//! know how a kind stores its triggers. A leaf: types and the trait only.

use std::collections::BTreeMap;

use serde_json::Value;

use super::change::Report;
use super::containers::Container;
use crate::engine::catalog::TagRef;

/// The trigger that manages a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Covered {
    pub tag: TagRef,
    /// `automatic: true` (DC) or not `paused` (annotation): the controller writes the image.
    pub automatic: bool,
    /// The trigger names no other container, so following another tag changes nothing else.
    pub sole: bool,
    /// autoredeploy wrote this trigger in this review (not one it only extended).
    pub created: bool,
}

/// Container name -> the trigger that names it.
pub type Coverage = BTreeMap<String, Covered>;

/// A trigger autoredeploy wrote itself, as `autoredeploy.io/managed-triggers` records it: the
/// tag it followed when written (or last retargeted), and whether autoredeploy paused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedTrigger {
    pub tag: TagRef,
    /// Paused by autoredeploy because the container's image left every tracked tag.
    pub paused: bool,
}

/// Container name -> the trigger autoredeploy wrote for it.
pub type Owned = BTreeMap<String, OwnedTrigger>;

/// A container to give a new trigger.
pub struct Wanted<'a> {
    pub container: &'a Container,
    pub tag: TagRef,
}

/// The existing triggers of an object, as the controller will see them.
pub enum Existing {
    /// Usable: what they cover.
    Usable(Coverage),
    /// The controller fails every trigger of the object (reported `blocked-trigger`).
    Blocked,
    /// Not understood; left alone (reported `unreadable`).
    Unreadable,
    /// The user turned the object's triggers off (reported `triggers-disabled`): nothing is
    /// added.
    Disabled,
}

/// How one kind family stores its triggers.
pub trait Triggers {
    /// Read the existing triggers of the incoming object, repairing in place what can be
    /// repaired without loss, and reporting what blocks them. `owned` are the triggers
    /// autoredeploy wrote: one it paused itself is not reported as a manual trigger.
    fn existing(
        &self,
        object: &mut Value,
        containers: &[Container],
        namespace: &str,
        owned: &Owned,
        report: &mut Report,
    ) -> Existing;

    /// The existing triggers of `object` as the controller sees them now, read by the same
    /// code as [`Triggers::existing`] but with nothing repaired and nothing reported: what
    /// `scan` explains about a stored object (`engine::view`).
    fn stored(&self, object: &Value, containers: &[Container], namespace: &str) -> Existing;

    /// Add triggers for `wanted`; returns what now covers those containers.
    fn ensure(
        &self,
        object: &mut Value,
        wanted: &[Wanted<'_>],
        namespace: &str,
        report: &mut Report,
    ) -> Coverage;

    /// Make the trigger that covers only `container` follow `to`; `false` when it cannot.
    /// `resolved` says whether the catalog knows `to`'s current image.
    fn retarget(
        &self,
        object: &mut Value,
        container: &Container,
        to: &TagRef,
        resolved: bool,
        namespace: &str,
        report: &mut Report,
    ) -> bool;

    /// Pause (`true`) or resume (`false`) the trigger that covers only `container`: the
    /// controller writes no image for a paused trigger. Returns the pointer of the field it
    /// set, `None` when it cannot. The caller reports the change.
    fn set_paused(&self, object: &mut Value, container: &Container, paused: bool)
    -> Option<String>;

    /// The tag the trigger naming `container` follows in `object` (read-only; used on the
    /// stored object of an UPDATE).
    fn followed_tag(
        &self,
        object: &Value,
        containers: &[Container],
        container: &str,
        namespace: &str,
    ) -> Option<TagRef>;

    /// Whether an automatic trigger on a tag that does not exist blocks the object (a
    /// DeploymentConfig's controller postpones every rollout until all its triggers
    /// resolve; an annotation trigger simply waits for its tag).
    fn missing_tag_blocks(&self) -> bool {
        false
    }

    /// The image the controller last wrote for `container`, where the family records it
    /// (DeploymentConfig `lastTriggeredImage`).
    fn last_triggered_image<'v>(&self, _object: &'v Value, _container: &str) -> Option<&'v str> {
        None
    }
}
