//! What the engine reports: changes it made and findings that change nothing. Codes are
//! stable strings (metrics labels, `--output json`, tests match on them); messages are one
//! human sentence without control characters.

use crate::engine::catalog::TagRef;
use serde::{Deserialize, Serialize};

/// A stable machine code for a change or finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    // Changes
    /// `importPolicy.scheduled: true` set on an external tag.
    ScheduledImport,
    /// `importPolicy.importMode: PreserveOriginal` set (config option).
    ImportMode,
    /// `importPolicy.scheduled` turned off on a tag whose source moved to another registry
    /// that has no room in its pull budget (a new import for that registry).
    UnscheduledImport,
    /// A new DeploymentConfig `ImageChange` trigger.
    ImageChangeTrigger,
    /// An existing DeploymentConfig `ImageChange` trigger gained container names.
    TriggerContainerAdded,
    /// `ConfigChange` trigger added with absent `spec.triggers` (server defaulting).
    ConfigChangeTrigger,
    /// An `image.openshift.io/triggers` annotation entry added.
    AnnotationTrigger,
    /// `imagePullPolicy` set for a trigger-managed container.
    PullPolicy,
    /// A CREATE got the tag's resolved digest image (double-rollout avoidance).
    ResolvedImage,
    /// An UPDATE kept the running digest instead of the unresolved reference.
    KeptRunningImage,
    /// An existing trigger that covered only this container now follows the tag its new
    /// image binds to (it would have reverted the user's image change).
    TriggerRetargeted,
    /// An existing annotation entry the trigger controller could not use was repaired
    /// losslessly (single-quoted selector, `"paused"` as a string).
    TriggerRepaired,
    /// A trigger autoredeploy wrote, covering only this container, paused: the container's
    /// new image left every tracked tag, and the trigger would have written its tag's image
    /// back.
    TriggerPaused,
    /// A trigger autoredeploy paused follows the container's image again and is resumed.
    TriggerResumed,
    /// `autoredeploy.io/managed-triggers` restored from the stored object.
    ManagedTriggers,
    // Findings (nothing changed)
    /// An `automatic: false` trigger was kept.
    ManualTriggerKept,
    /// A stream with `spec.dockerImageRepository` and no tags is never re-imported on a schedule.
    RepositoryWithoutTags,
    /// An external image that no ImageStream tracks.
    UntrackedImage,
    /// A digest-pinned image or tag source: nothing to schedule or trigger.
    DigestPinned,
    /// A scheduled import was turned off explicitly or the tag is otherwise not importable.
    NotImportable,
    /// A DeploymentConfig with `spec.triggers: []` (no automatic deployments): nothing added.
    TriggersDisabled,
    /// The object or a container opted out by annotation.
    OptedOut,
    /// An annotation or field autoredeploy needs could not be understood.
    Unreadable,
    /// An automatic trigger follows another tag than the container's image: the trigger
    /// controller would write that tag's image back over the user's change.
    StaleTrigger,
    /// An existing trigger entry makes OpenShift's controller fail every trigger of the object.
    BlockedTrigger,
    /// A short image name matches a stream, but not safely (tag missing, or the stream tracks
    /// another image and does not resolve short names); nothing else tracks it.
    AmbiguousImage,
    /// A name that OpenShift's validation would reject in a trigger.
    InvalidName,
    /// An internal-registry image whose tag resolves to its external source
    /// (`referencePolicy: Source`): a trigger would move pulls out of the cluster.
    ReferencePolicySource,
    /// An explicit binding names a tag the catalog does not know.
    UnknownTag,
    /// Several tags import the same image; the smallest was chosen.
    SeveralTags,
    /// `updateStrategy: OnDelete`: a new image reaches pods only when they are deleted.
    OnDeleteStrategy,
    /// A tag left unscheduled because its imports would take its registry over budget.
    PullBudget,
    /// A tag left unscheduled because its registry is polled by `autoredeploy poll`.
    Polled,
    /// A tag of a polled registry that `autoredeploy poll` cannot HEAD (a private
    /// repository, listed in `autoredeploy.io/unpollable-tags`): scheduled within budget.
    Unpollable,
    /// A controller (`ownerReferences` with `controller: true`) owns the object: left alone,
    /// unless it opts in with `autoredeploy.io/manage-owned`.
    Owned,
    /// A container under an automatic trigger pinned to another digest of the tag's own
    /// repository than the tag's current image: the controller will write the current one.
    EarlierDigest,
    /// `imagePullPolicy: Always` on a trigger-managed container kept because the manifest
    /// sets it (last-applied configuration, or a server-side applier owns the field).
    PullPolicyKept,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::ScheduledImport => "scheduled-import",
            Code::ImportMode => "import-mode",
            Code::UnscheduledImport => "unscheduled-import",
            Code::ImageChangeTrigger => "image-change-trigger",
            Code::TriggerContainerAdded => "trigger-container-added",
            Code::ConfigChangeTrigger => "config-change-trigger",
            Code::AnnotationTrigger => "annotation-trigger",
            Code::PullPolicy => "pull-policy",
            Code::ResolvedImage => "resolved-image",
            Code::KeptRunningImage => "kept-running-image",
            Code::TriggerRetargeted => "trigger-retargeted",
            Code::TriggerRepaired => "trigger-repaired",
            Code::TriggerPaused => "trigger-paused",
            Code::TriggerResumed => "trigger-resumed",
            Code::ManagedTriggers => "managed-triggers",
            Code::ManualTriggerKept => "manual-trigger-kept",
            Code::RepositoryWithoutTags => "repository-without-tags",
            Code::UntrackedImage => "untracked-image",
            Code::DigestPinned => "digest-pinned",
            Code::NotImportable => "not-importable",
            Code::TriggersDisabled => "triggers-disabled",
            Code::OptedOut => "opted-out",
            Code::Unreadable => "unreadable",
            Code::StaleTrigger => "stale-trigger",
            Code::BlockedTrigger => "blocked-trigger",
            Code::AmbiguousImage => "ambiguous-image",
            Code::InvalidName => "invalid-name",
            Code::ReferencePolicySource => "reference-policy-source",
            Code::UnknownTag => "unknown-tag",
            Code::SeveralTags => "several-tags",
            Code::OnDeleteStrategy => "on-delete-strategy",
            Code::PullBudget => "pull-budget",
            Code::Polled => "polled",
            Code::Unpollable => "unpollable",
            Code::Owned => "owned",
            Code::EarlierDigest => "earlier-digest",
            Code::PullPolicyKept => "pull-policy-kept",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change made to the object, or one finding about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub code: Code,
    /// JSON Pointer (RFC 6901) of the field concerned, in the object.
    pub path: String,
    /// One human sentence, no control characters.
    pub message: String,
    /// JSON Pointer of the workload container it concerns (`/spec/template/spec/containers/0`,
    /// as in [`ContainerBinding::pointer`]): the container whose field `path` is, compared
    /// token by token, or the one a trigger change was made for. `None` for what concerns
    /// the whole object, or several containers at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

impl Change {
    pub fn new(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Change {
            code,
            path: path.into(),
            message: message.into(),
            container: None,
        }
    }

    /// Whether it concerns the container at `pointer`.
    pub fn concerns(&self, pointer: &str) -> bool {
        self.container.as_deref() == Some(pointer)
    }
}

/// How the engine bound one container of a workload (docs/rules.md, "Binding a container to
/// a tag"): what `scan KIND/NAME` explains, so it never guesses from the image string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerBinding {
    /// JSON Pointer of the container (`/spec/template/spec/containers/0`).
    pub pointer: String,
    /// The container's name.
    pub container: String,
    /// The tag it follows (or will follow once the patch is applied); `None` when unbound.
    pub tag: Option<TagRef>,
    pub kind: BindingKind,
}

/// How a container came to follow its tag, or why it follows none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingKind {
    /// An existing trigger names it (`tag`: what it follows after the rules, a retarget
    /// included).
    ExistingTrigger,
    /// The `autoredeploy.io/image-stream-tags` annotation names its tag.
    Explicit,
    /// Its image is a pull spec of the cluster's own registry.
    InternalRegistry,
    /// Its image is a short `stream[:tag]` name of a stream in the object's namespace.
    ShortName,
    /// Its image is an external reference a catalog tag imports.
    ExternalReference,
    /// Its image is what OpenShift's ImagePolicy admission made of a short name the manifest
    /// wrote (the last-applied configuration, or `resolve-names`): the tag's digest or its
    /// internal-registry pull spec.
    ResolvedShortName,
    /// Listed in `autoredeploy.io/skip-containers`.
    OptedOut,
    /// The object's existing triggers cannot be used (the controller fails them, they are
    /// unreadable, or the user turned them off): nothing is bound; the findings say why.
    TriggersUnusable,
    /// Its image is pinned to a digest.
    DigestPinned,
    /// Its image is an external reference no ImageStream imports.
    Untracked,
    /// Deliberately not bound: the finding with this code says why.
    Refused(Code),
    /// No image, or nothing to bind (blank, unparsable).
    NoImage,
}

/// Changes and findings collected while the rules run, in the order they were made, and how
/// each container was bound.
#[derive(Debug, Default)]
pub struct Report {
    pub changes: Vec<Change>,
    pub findings: Vec<Change>,
    pub bindings: Vec<ContainerBinding>,
    /// Changes made for a container named in a trigger rather than at one of its fields:
    /// the index in `changes` and the container's name, resolved by [`Report::finish`].
    named: Vec<(usize, String)>,
}

impl Report {
    /// Record how the container at `pointer` was bound.
    pub fn bound(
        &mut self,
        pointer: String,
        container: &str,
        tag: Option<TagRef>,
        kind: BindingKind,
    ) {
        self.bindings.push(ContainerBinding {
            pointer,
            container: container.to_string(),
            tag,
            kind,
        });
    }

    pub fn change(&mut self, code: Code, path: impl Into<String>, message: impl Into<String>) {
        self.changes
            .push(Change::new(code, path, clean(message.into())));
    }

    /// A change made for the container named `container` away from its fields (a trigger
    /// entry or the trigger list).
    pub fn change_for(
        &mut self,
        container: &str,
        code: Code,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.named.push((self.changes.len(), container.to_string()));
        self.change(code, path, message);
    }

    pub fn finding(&mut self, code: Code, path: impl Into<String>, message: impl Into<String>) {
        self.findings
            .push(Change::new(code, path, clean(message.into())));
    }

    /// Give every change and finding the container it concerns: the binding whose pointer
    /// holds its path (token by token, never by string prefix), or, for one made for a
    /// named container, that container's binding.
    pub fn finish(&mut self) {
        if self.bindings.is_empty() {
            return;
        }
        let bindings = &self.bindings;
        for change in self.changes.iter_mut().chain(&mut self.findings) {
            change.container = bindings
                .iter()
                .find(|b| crate::pointer::is_within(&change.path, &b.pointer))
                .map(|b| b.pointer.clone());
        }
        for (i, name) in std::mem::take(&mut self.named) {
            let binding = bindings.iter().find(|b| b.container == name);
            if let (Some(change), Some(binding)) = (self.changes.get_mut(i), binding) {
                change.container = Some(binding.pointer.clone());
            }
        }
    }
}

/// Messages quote user data (names, images): strip control characters so a warning stays
/// one line in `oc apply` output.
fn clean(message: String) -> String {
    if has_control(&message) {
        message.chars().filter(|c| !c.is_control()).collect()
    } else {
        message
    }
}

/// Whether `text` has a control character (`char::is_control`: U+0000 to U+001F, U+007F
/// to U+009F), looking at bytes first: every such character is a byte below 0x20, 0x7F, or
/// 0xC2 followed by 0x80 to 0x9F in UTF-8, and a byte scan (a branch-free fold per chunk,
/// which the compiler vectorises) is much cheaper than decoding every character of
/// thousands of findings.
pub fn has_control(text: &str) -> bool {
    let suspect = text.as_bytes().chunks(64).any(|chunk| {
        chunk.iter().fold(false, |seen, &b| {
            seen | (b < 0x20) | (b == 0x7f) | (b == 0xc2)
        })
    });
    suspect && text.chars().any(char::is_control)
}

/// One JSON Pointer token (RFC 6901): `~` and `/` escaped.
pub fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_scan_finds_exactly_the_control_characters() {
        let chars = (0..0x800u32)
            .chain([0xfeff, 0x2028, 0x1f600])
            .filter_map(char::from_u32);
        for c in chars {
            for text in [c.to_string(), format!("ab{c}é"), format!("日{c}")] {
                assert_eq!(
                    has_control(&text),
                    text.chars().any(char::is_control),
                    "{c:?}"
                );
            }
        }
        assert_eq!(clean("a\u{85}b\tc".into()), "abc");
    }
}
