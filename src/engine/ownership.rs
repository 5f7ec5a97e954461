//! Which triggers autoredeploy wrote itself (docs/rules.md, "Triggers that stay true"): the
//! annotation `autoredeploy.io/managed-triggers` on the workload lists, per container, the tag
//! of the trigger autoredeploy added (or later retargeted), and whether autoredeploy paused
//! it. Only those triggers are ever paused or resumed; a trigger the user wrote is never
//! touched. Owns that one annotation: reading it (from the incoming object, else from the
//! stored one, which GitOps applies may have kept when the manifest lacks it), checking it
//! against the triggers the object really has, and writing it back only when it must change.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::Context;
use super::Operation;
use super::annotations::{self, parse_tag_ref};
use super::change::{Code, Report};
use super::triggers::{Coverage, Owned, OwnedTrigger};
use crate::engine::catalog::TagRef;

/// The annotation key, on the workload's own metadata.
pub const MANAGED_TRIGGERS: &str = "autoredeploy.io/managed-triggers";

/// What follows an entry's tag when autoredeploy paused that trigger.
const PAUSED: &str = "paused";

/// The record as read, and as it is kept up to date while the rules run.
#[derive(Debug)]
pub struct Ledger {
    /// The incoming object's annotation, as written (`None` when it has none).
    incoming: Option<String>,
    /// Read from the stored object, because the incoming one has no record (or only stale
    /// entries, see [`Ledger::confirm`]).
    from_stored: bool,
    entries: Owned,
    /// The stored object's record on UPDATE when the incoming object has one too: what the
    /// next review would read if this one wrote no record.
    stored: Option<Owned>,
    /// The stored object has a non-blank record (UPDATE).
    stored_record: bool,
}

impl Ledger {
    /// The record of the incoming object, else (on UPDATE) of the stored one. Entries that
    /// do not read as `container=stream:tag` are reported and ignored: autoredeploy owns
    /// nothing it cannot name.
    pub fn read(object: &Value, context: &Context<'_>, report: &mut Report) -> Ledger {
        let incoming = annotations::get(object, MANAGED_TRIGGERS).map(str::to_string);
        let stored = match (context.operation, context.old_object) {
            (Operation::Update, Some(old)) => annotations::get(old, MANAGED_TRIGGERS),
            _ => None,
        };
        let stored_record = stored.is_some_and(|text| !text.trim().is_empty());
        let (entries, stored) = match (incoming.as_deref(), stored) {
            // The stored record's own unreadable entries were reported when it was written.
            (Some(text), Some(old)) => (
                parse(text, context.namespace, report),
                Some(parse(old, context.namespace, &mut Report::default())),
            ),
            (Some(text), None) | (None, Some(text)) => {
                (parse(text, context.namespace, report), None)
            }
            (None, None) => (Owned::new(), None),
        };
        Ledger {
            from_stored: incoming.is_none() && !entries.is_empty(),
            incoming,
            entries,
            stored,
            stored_record,
        }
    }

    /// The entries as read.
    pub fn owned(&self) -> &Owned {
        &self.entries
    }

    /// Keep only the entries whose container's trigger still follows the recorded tag: a
    /// trigger the user changed, or a container that has no trigger any more, is no longer
    /// autoredeploy's. A recorded pause holds only while the trigger is paused.
    ///
    ///
    /// When no entry of a non-blank incoming record holds (all stale or unreadable), the
    /// record would be dropped, and the next review (an object without a record) would read
    /// the stored one instead; so the stored record, confirmed the same way, is taken now,
    /// and a second review of the result changes nothing. A blank record is the user's word
    /// that autoredeploy owns nothing, and stays.
    pub fn confirm(&mut self, coverage: &Coverage) {
        retain_confirmed(&mut self.entries, coverage);
        let written = (self.incoming.as_deref()).is_some_and(|text| !text.trim().is_empty());
        if written
            && self.entries.is_empty()
            && let Some(mut stored) = self.stored.take()
        {
            retain_confirmed(&mut stored, coverage);
            if !stored.is_empty() {
                self.entries = stored;
                self.from_stored = true;
            }
        }
    }

    /// The trigger autoredeploy wrote for `container`, if it did.
    pub fn get(&self, container: &str) -> Option<&OwnedTrigger> {
        self.entries.get(container)
    }

    /// Record that the trigger of `container` is autoredeploy's, follows `tag` and is
    /// paused or not.
    pub fn record(&mut self, container: &str, tag: &TagRef, paused: bool) {
        self.entries.insert(
            container.to_string(),
            OwnedTrigger {
                tag: tag.clone(),
                paused,
            },
        );
    }

    /// Write the record back. It goes along with the object's other changes (a trigger
    /// added, retargeted, paused or resumed); on its own only when the incoming object lost
    /// the record the stored one had (change `managed-triggers`), so that a re-apply never
    /// churns the object for nothing.
    pub fn write(self, object: &mut Value, namespace: &str, report: &mut Report) {
        let desired = render(&self.entries, namespace);
        let current = self.incoming.as_deref();
        if current == Some(desired.as_str()) || (current.is_none() && desired.is_empty()) {
            return;
        }
        let restoring = self.from_stored && !desired.is_empty();
        if report.changes.is_empty() && !restoring {
            return;
        }
        let Some(map) = annotations_mut(object) else {
            return;
        };
        if desired.is_empty() && self.stored_record {
            // Removed, the record would be read from the stored object by the next review,
            // which the rules' changes here may then confirm: a blank record says autoredeploy
            // owns nothing, and stays.
            map.insert(MANAGED_TRIGGERS.into(), Value::String(String::new()));
        } else if desired.is_empty() {
            map.remove(MANAGED_TRIGGERS);
        } else {
            map.insert(MANAGED_TRIGGERS.into(), Value::String(desired));
        }
        if restoring {
            report.change(
                Code::ManagedTriggers,
                annotations::pointer(MANAGED_TRIGGERS),
                format!(
                    "{MANAGED_TRIGGERS} restored from the stored object: the incoming one lacked the record of the triggers autoredeploy wrote"
                ),
            );
        }
    }
}

/// Keep the entries whose container's trigger still follows the recorded tag, clearing a
/// pause the trigger no longer has.
fn retain_confirmed(entries: &mut Owned, coverage: &Coverage) {
    entries.retain(|name, entry| {
        let Some(covered) = coverage.get(name) else {
            return false;
        };
        if covered.automatic {
            entry.paused = false;
        }
        covered.tag == entry.tag
    });
}

/// `web=nginx:1.25,init=tools/builder:1 paused`: one entry per container, the tag with its
/// namespace when that is not the workload's, `paused` after the tag when autoredeploy
/// paused the trigger.
fn parse(text: &str, namespace: &str, report: &mut Report) -> Owned {
    let mut owned = BTreeMap::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let parsed = entry.split_once('=').and_then(|(container, rest)| {
            let rest = rest.trim();
            let (tag, paused) = match rest.split_once(' ') {
                Some((tag, flag)) if flag.trim() == PAUSED => (tag, true),
                Some(_) => return None,
                None => (rest, false),
            };
            let container = container.trim();
            let tag = parse_tag_ref(tag, namespace)?;
            (!container.is_empty()).then(|| (container.to_string(), OwnedTrigger { tag, paused }))
        });
        match parsed {
            Some((container, trigger)) => {
                owned.insert(container, trigger);
            }
            None => report.finding(
                Code::Unreadable,
                annotations::pointer(MANAGED_TRIGGERS),
                format!(
                    "ignored {MANAGED_TRIGGERS} entry {entry:?}: expected container=stream:tag, optionally followed by \" {PAUSED}\""
                ),
            ),
        }
    }
    owned
}

fn render(entries: &Owned, namespace: &str) -> String {
    let parts: Vec<String> = entries
        .iter()
        .map(|(container, entry)| {
            let tag = if entry.tag.namespace == namespace {
                entry.tag.stream_tag()
            } else {
                format!("{}/{}", entry.tag.namespace, entry.tag.stream_tag())
            };
            if entry.paused {
                format!("{container}={tag} {PAUSED}")
            } else {
                format!("{container}={tag}")
            }
        })
        .collect();
    parts.join(",")
}

fn annotations_mut(object: &mut Value) -> Option<&mut Map<String, Value>> {
    let metadata = object
        .as_object_mut()?
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()?;
    let annotations = metadata.entry("annotations").or_insert(Value::Null);
    if annotations.is_null() {
        *annotations = Value::Object(Map::new());
    }
    annotations.as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(namespace: &str, stream: &str, tag: &str) -> TagRef {
        TagRef {
            namespace: namespace.into(),
            stream: stream.into(),
            tag: tag.into(),
        }
    }

    #[test]
    fn entries_read_and_render_the_same_text() {
        let text = "init=tools/builder:1 paused,web=nginx:1.25";
        let mut report = Report::default();
        let owned = parse(text, "shop", &mut report);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert_eq!(
            owned["init"],
            OwnedTrigger {
                tag: tag("tools", "builder", "1"),
                paused: true
            }
        );
        assert_eq!(
            owned["web"],
            OwnedTrigger {
                tag: tag("shop", "nginx", "1.25"),
                paused: false
            }
        );
        assert_eq!(render(&owned, "shop"), text);
    }

    #[test]
    fn entries_that_name_nothing_are_reported_and_own_nothing() {
        let mut report = Report::default();
        let owned = parse(
            "web=nginx,=app:1,side=app:1 stopped,ok=app:1 paused",
            "shop",
            &mut report,
        );
        assert_eq!(owned.keys().collect::<Vec<_>>(), ["ok"]);
        assert_eq!(report.findings.len(), 3);
        assert!(report.findings.iter().all(|f| f.code == Code::Unreadable));
    }
}
