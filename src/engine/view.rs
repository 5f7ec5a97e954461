//! The engine's read-only view of a stored object, for `scan` and `explain`: the image
//! triggers as OpenShift's controllers see them, and what the scheduling rule makes of each
//! ImageStream tag. Read by the very code the rules use (the trigger families, the scheduling
//! decision), with nothing repaired and nothing reported, so `scan` never parses triggers or
//! judges importability itself.

use std::collections::BTreeMap;

use serde_json::Value;

use super::catalog::{Catalog, TagRef};
use super::kind::Kind;
use super::triggers::Existing;
use super::{Context, Operation, containers, family, imagestream};
use crate::config::RuleConfig;
use crate::pointer::Pointer as _;

pub use super::imagestream::Importability;

/// The trigger that names one container, as the controller reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTrigger {
    /// The ImageStreamTag it follows; `tag` is empty when `from.name` names none (such a
    /// trigger never fires).
    pub tag: TagRef,
    /// DeploymentConfig `automatic: true`, or an annotation entry that is not `paused`.
    pub automatic: bool,
    /// The trigger names no other container.
    pub sole: bool,
}

/// The existing triggers of a stored workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredTriggers {
    /// Container name -> the first trigger naming it.
    Usable(BTreeMap<String, StoredTrigger>),
    /// The controller fails every trigger of the object (a broken annotation: not an
    /// array, an entry that does not decode such as a string `paused`, a `fieldPath` it
    /// cannot apply such as a single-quoted selector).
    Blocked,
    /// Not understood (the annotation is not a string).
    Unreadable,
    /// Turned off by the user (`oc set triggers --remove-all`).
    Disabled,
}

impl StoredTriggers {
    /// The usable triggers; none when the controller uses none.
    pub fn usable(self) -> BTreeMap<String, StoredTrigger> {
        match self {
            StoredTriggers::Usable(triggers) => triggers,
            _ => BTreeMap::new(),
        }
    }
}

/// The triggers of `object` (of `kind`, in `namespace`) as OpenShift's trigger controller
/// uses them. Kinds without image triggers have none.
pub fn triggers(kind: Kind, object: &Value, namespace: &str) -> StoredTriggers {
    let (Some(pod_spec), Some(family)) = (kind.pod_spec_pointer(), family::of(kind)) else {
        return StoredTriggers::Usable(BTreeMap::new());
    };
    let containers = containers::read(object.at(pod_spec));
    match family.stored(object, &containers, namespace) {
        Existing::Usable(coverage) => StoredTriggers::Usable(
            coverage
                .into_iter()
                .map(|(name, covered)| {
                    let trigger = StoredTrigger {
                        tag: covered.tag,
                        automatic: covered.automatic,
                        sole: covered.sole,
                    };
                    (name, trigger)
                })
                .collect(),
        ),
        Existing::Blocked => StoredTriggers::Blocked,
        Existing::Unreadable => StoredTriggers::Unreadable,
        Existing::Disabled => StoredTriggers::Disabled,
    }
}

/// Tag name -> what the scheduling rule makes of it, for every named spec tag of a stored
/// ImageStream, judged against `catalog` (the cluster's own registry hosts of the stream)
/// and `config` (the internal registry hosts, the repository filters).
pub fn tag_importability(
    stream: &Value,
    catalog: &dyn Catalog,
    config: &RuleConfig,
) -> Vec<(String, Importability)> {
    let namespace = stream
        .at("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let context = Context {
        namespace,
        catalog,
        config,
        operation: Operation::Update,
        old_object: None,
    };
    imagestream::importable::of_stream(stream, &context)
}
