//! The poller's decisions, pure: whether a HEAD result means "import", whether a registry's
//! budget (a rolling window of the imports the poller started) and its own
//! `ratelimit-remaining` leave room for one more, and how long a `429` backs a registry off.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Budget;

/// What to do with a tag after a HEAD returned `head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The digest is the one last seen: nothing to do (no GET, no import).
    Unchanged,
    /// First sight, and the tag already holds this digest: remember it, import nothing.
    Record,
    /// The image changed (or the tag holds something else, such as the platform
    /// sub-manifest a Legacy import keeps of a manifest list): import once, then remember.
    Import,
}

/// `recorded` is the HEAD digest remembered for the tag (survives restarts), `status` the
/// digest OpenShift stored for it. After a Legacy import of a manifest list the two differ
/// forever (OpenShift keeps the platform's sub-manifest), so once a digest is recorded only
/// the record counts.
pub fn decide(recorded: Option<&str>, status: Option<&str>, head: &str) -> Decision {
    match recorded {
        Some(seen) if seen == head => Decision::Unchanged,
        Some(_) => Decision::Import,
        None if status == Some(head) => Decision::Record,
        None => Decision::Import,
    }
}

/// The imports the poller started on one registry: (unix seconds, pulls), oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportWindow(pub VecDeque<(u64, u32)>);

impl ImportWindow {
    /// Pulls spent within `window_seconds` before `now`, forgetting older ones.
    pub fn spent(&mut self, now: u64, window_seconds: u64) -> u64 {
        while self
            .0
            .front()
            .is_some_and(|(at, _)| now.saturating_sub(*at) >= window_seconds)
        {
            self.0.pop_front();
        }
        self.0.iter().map(|(_, pulls)| u64::from(*pulls)).sum()
    }

    pub fn record(&mut self, now: u64, pulls: u32) {
        self.0.push_back((now, pulls));
    }
}

/// Why an import has to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    /// The configured budget of the registry is spent for now.
    Budget { spent: u64, budget: u64 },
    /// The registry's own `ratelimit-remaining` is at or below the reserve for node pulls.
    RateLimit { remaining: u64, reserve: u64 },
}

impl Wait {
    pub fn reason(&self) -> &'static str {
        match self {
            Wait::Budget { .. } => "budget",
            Wait::RateLimit { .. } => "ratelimit",
        }
    }
}

/// Whether an import costing `pulls` may start now.
pub fn admit(
    window: &mut ImportWindow,
    budget: Budget,
    now: u64,
    pulls: u32,
    remaining: Option<u64>,
    reserve: u64,
) -> Result<(), Wait> {
    if let Some(remaining) = remaining
        && remaining < reserve + u64::from(pulls)
    {
        return Err(Wait::RateLimit { remaining, reserve });
    }
    if let Budget::Limited {
        pulls: budget,
        window: w,
    } = budget
    {
        let spent = window.spent(now, w.seconds());
        if spent + u64::from(pulls) > budget {
            return Err(Wait::Budget { spent, budget });
        }
    }
    Ok(())
}

/// `ratelimit-remaining: 76;w=21600` → 76.
pub fn ratelimit_count(header: &str) -> Option<u64> {
    header.split(';').next()?.trim().parse().ok()
}

/// How long a `429` backs its registry off: `Retry-After` in seconds when given (an HTTP
/// date is not parsed; it falls back), else `fallback`; never more than an hour.
pub fn retry_after(header: Option<&str>, fallback: Duration) -> Duration {
    header
        .and_then(|h| h.trim().parse::<u64>().ok())
        .map_or(fallback, Duration::from_secs)
        .min(Duration::from_secs(3600))
}

/// The parameters of a `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` challenge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Challenge {
    pub realm: String,
    pub service: Option<String>,
    pub scope: Option<String>,
}

pub fn bearer_challenge(header: &str) -> Option<Challenge> {
    let rest = header
        .trim()
        .strip_prefix("Bearer ")
        .or_else(|| header.trim().strip_prefix("bearer "))?;
    let mut challenge = Challenge::default();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "realm" => challenge.realm = value.to_string(),
            "service" => challenge.service = Some(value.to_string()),
            "scope" => challenge.scope = Some(value.to_string()),
            _ => {}
        }
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    (!challenge.realm.is_empty()).then_some(challenge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Window;

    #[test]
    fn only_a_changed_digest_imports_and_first_sight_trusts_the_status() {
        assert_eq!(
            decide(Some("sha256:a"), None, "sha256:a"),
            Decision::Unchanged
        );
        assert_eq!(
            decide(Some("sha256:a"), Some("sha256:b"), "sha256:a"),
            Decision::Unchanged
        );
        assert_eq!(
            decide(Some("sha256:a"), Some("sha256:b"), "sha256:c"),
            Decision::Import
        );
        assert_eq!(decide(None, Some("sha256:a"), "sha256:a"), Decision::Record);
        // A Legacy import keeps the platform's sub-manifest, not the list HEAD returns.
        assert_eq!(
            decide(None, Some("sha256:sub"), "sha256:list"),
            Decision::Import
        );
        assert_eq!(decide(None, None, "sha256:a"), Decision::Import);
    }

    #[test]
    fn the_budget_is_a_rolling_window_of_started_imports() {
        let budget = Budget::Limited {
            pulls: 3,
            window: "1h".parse::<Window>().unwrap(),
        };
        let mut window = ImportWindow::default();
        window.record(0, 2);
        window.record(100, 1);
        assert_eq!(
            admit(&mut window, budget, 200, 1, None, 0),
            Err(Wait::Budget {
                spent: 3,
                budget: 3
            })
        );
        // The first import leaves the window after an hour.
        assert_eq!(admit(&mut window, budget, 3600, 2, None, 0), Ok(()));
        assert_eq!(window.0.len(), 1);
        assert_eq!(
            admit(&mut window, Budget::Unlimited, 0, 100, None, 0),
            Ok(())
        );
    }

    #[test]
    fn the_registrys_own_remaining_less_a_reserve_stops_imports() {
        let mut window = ImportWindow::default();
        let unlimited = Budget::Unlimited;
        assert_eq!(admit(&mut window, unlimited, 0, 1, Some(21), 20), Ok(()));
        assert_eq!(
            admit(&mut window, unlimited, 0, 1, Some(20), 20),
            Err(Wait::RateLimit {
                remaining: 20,
                reserve: 20
            })
        );
    }

    #[test]
    fn headers_are_read_as_docker_hub_writes_them() {
        assert_eq!(ratelimit_count("76;w=21600"), Some(76));
        assert_eq!(ratelimit_count("100"), Some(100));
        assert_eq!(ratelimit_count("x"), None);
        let fallback = Duration::from_secs(60);
        assert_eq!(retry_after(Some("7"), fallback), Duration::from_secs(7));
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT"), fallback),
            fallback
        );
        assert_eq!(
            retry_after(Some("99999"), fallback),
            Duration::from_secs(3600)
        );
        assert_eq!(
            bearer_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#
            ),
            Some(Challenge {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/nginx:pull".into()),
            })
        );
        assert_eq!(bearer_challenge(r#"Basic realm="x""#), None);
    }
}
