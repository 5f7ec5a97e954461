//! What the poller remembers across restarts and leader changes: per tag the digest HEAD
//! returned when it was last imported or recorded, and per registry the rolling window of the
//! imports it started. Stored as JSON in a ConfigMap of the poller's namespace (never in the
//! users' objects).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::decide::ImportWindow;

/// The ConfigMap key holding the JSON.
pub const STATE_KEY: &str = "state.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollState {
    /// `namespace/stream:tag` → what was seen.
    #[serde(default)]
    pub tags: BTreeMap<String, TagRecord>,
    /// Registry → imports started in the current window.
    #[serde(default)]
    pub imports: BTreeMap<String, ImportWindow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRecord {
    /// The digest the registry's HEAD returned (a manifest list's own digest).
    pub digest: String,
    /// When the poller last imported the tag (unix seconds); `None` if only recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_at: Option<u64>,
}

impl TagRecord {
    pub fn seen(digest: String) -> Self {
        TagRecord {
            digest,
            imported_at: None,
        }
    }

    pub fn imported(digest: String, at: u64) -> Self {
        TagRecord {
            digest,
            imported_at: Some(at),
        }
    }
}

impl PollState {
    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        Ok(serde_json::from_str(text)?)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_json() {
        let mut state = PollState::default();
        state.tags.insert(
            "shop/app:1".into(),
            TagRecord::imported("sha256:a".into(), 7),
        );
        state
            .imports
            .entry("docker.io".into())
            .or_default()
            .record(7, 2);
        let text = state.to_json();
        assert_eq!(PollState::from_json(&text).unwrap(), state);
        assert_eq!(PollState::from_json("{}").unwrap(), PollState::default());
    }
}
