//! What the engine may ask about ImageStreams, and nothing more: the [`Catalog`] trait and
//! the small types its answers use. The engine owns this interface; the index in `catalog`
//! (the cluster watch in `serve`, the manifest set in `mutate`) implements it, so the
//! dependency points from the catalog to the engine and never back. Answers come from
//! memory: no API call, no I/O.

/// An ImageStreamTag: `namespace/stream:tag`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagRef {
    pub namespace: String,
    pub stream: String,
    pub tag: String,
}

impl TagRef {
    /// `stream:tag`, as written in triggers.
    pub fn stream_tag(&self) -> String {
        format!("{}:{}", self.stream, self.tag)
    }
}

/// What the catalog knows of one tag.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagState {
    /// `spec.tags[].from.name` when `from.kind` is `DockerImage`, as the user spelled it.
    pub source: Option<String>,
    /// The pull spec a trigger would write now (library-go `ResolveLatestTaggedImage`):
    /// `status.tags[] .items[0].dockerImageReference`, or `<status.dockerImageRepository>@<image>`
    /// for a `Local` reference policy. `None` when the tag never resolved.
    pub resolved: Option<String>,
    /// `referencePolicy.type: Local`: triggers write the internal registry's pull spec.
    pub local_reference: bool,
    /// `reference: true`: the source is never imported.
    pub reference_only: bool,
}

/// Read-only lookups the engine makes. Implementations answer from memory: no API call.
pub trait Catalog {
    /// Whether a stream `namespace/stream` is known.
    fn has_stream(&self, namespace: &str, stream: &str) -> bool;
    /// The tag in `namespace` whose `DockerImage` source normalises to `normalized` (the
    /// canonical string form of `image_ref`, e.g. `docker.io/library/nginx:latest`).
    /// With several candidates the answer is deterministic (the smallest `TagRef`).
    fn find_external(&self, namespace: &str, normalized: &str) -> Option<TagRef>;
    /// What is known of one tag; `None` when the stream or tag is unknown.
    fn tag_state(&self, namespace: &str, stream: &str, tag: &str) -> Option<TagState>;
    /// Every tag in `namespace` that imports `normalized`, smallest `TagRef` first (the first
    /// is [`Catalog::find_external`]'s answer).
    fn external_candidates(&self, namespace: &str, normalized: &str) -> Vec<TagRef> {
        self.find_external(namespace, normalized)
            .into_iter()
            .collect()
    }
    /// A `reference: true` tag whose source normalises to `normalized`: it names the image
    /// but is never imported.
    fn reference_tag(&self, _namespace: &str, _normalized: &str) -> Option<TagRef> {
        None
    }
    /// Whether the stream has `spec.lookupPolicy.local: true`, so short names in its
    /// namespace resolve to it.
    fn local_lookup(&self, _namespace: &str, _stream: &str) -> bool {
        false
    }

    // Registry pull budgets. Defaults answer as a catalog that knows nothing.

    /// Pulls one import cycle of the scheduled tags known on `registry` (normalised) costs,
    /// leaving out what `replaced` names (the object under review counts itself).
    fn scheduled_pulls(&self, _registry: &str, _replaced: &Replaced<'_>) -> u64 {
        0
    }
    /// How many platforms the tag's current image lists in the stored status (a
    /// `PreserveOriginal` import fetches one sub-manifest each).
    fn tag_platforms(&self, _namespace: &str, _stream: &str, _tag: &str) -> Option<u32> {
        None
    }
    /// The registry the stored tag is scheduled to import from; `None` when the tag is
    /// unknown or not scheduled. A tag whose incoming source names another registry is a new
    /// import for that registry's budget.
    fn scheduled_registry(&self, _namespace: &str, _stream: &str, _tag: &str) -> Option<String> {
        None
    }
    /// The cluster registry's hosts in the stored stream's status (service and route).
    fn own_registry_hosts(&self, _namespace: &str, _stream: &str) -> Vec<String> {
        Vec::new()
    }
}

/// A catalog that knows nothing (no cluster access, `--catalog off`, or tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyCatalog;

impl Catalog for EmptyCatalog {
    fn has_stream(&self, _: &str, _: &str) -> bool {
        false
    }
    fn find_external(&self, _: &str, _: &str) -> Option<TagRef> {
        None
    }
    fn tag_state(&self, _: &str, _: &str, _: &str) -> Option<TagState> {
        None
    }
}

/// What a review replaces, so it is not counted twice: its incoming version is counted by the
/// engine instead.
#[derive(Debug, Clone, Copy)]
pub enum Replaced<'a> {
    /// Nothing known is replaced (a repository import, or no stream name).
    Nothing,
    /// A whole ImageStream.
    Stream { namespace: &'a str, stream: &'a str },
    /// Some tags of a stream (`ImageStreamTag`, `ImageTag`, `ImageStreamImport`).
    Tags {
        namespace: &'a str,
        stream: &'a str,
        tags: &'a [String],
    },
}

impl Replaced<'_> {
    /// The stream concerned, if any.
    pub fn stream(&self) -> Option<(&str, &str)> {
        match *self {
            Replaced::Nothing => None,
            Replaced::Stream { namespace, stream }
            | Replaced::Tags {
                namespace, stream, ..
            } => Some((namespace, stream)),
        }
    }

    /// Whether the tag named `tag` of the stream is replaced.
    pub fn covers(&self, tag: &str) -> bool {
        match self {
            Replaced::Nothing => false,
            Replaced::Stream { .. } => true,
            Replaced::Tags { tags, .. } => tags.iter().any(|t| t == tag),
        }
    }
}
