//! Typed configuration, built once from the command line (each flag also an environment
//! variable) and validated here. Rules read [`RuleConfig`]; only the admission adapter and
//! the CLI output step read [`Mode`]. No I/O.

mod budget;
mod patterns;

use crate::pointer::Pointer;
pub use budget::{
    Budget, BudgetError, DEFAULT_BUDGET, DEFAULT_IMPORT_INTERVAL, RegistryBudget, RegistryBudgets,
    Window,
};
use globset::{GlobSet, GlobSetBuilder};

/// The in-cluster registry host OpenShift 4 writes into `status.dockerImageRepository`.
pub const DEFAULT_INTERNAL_REGISTRY: &str = "image-registry.openshift-image-registry.svc:5000";
/// The same service spelled with the cluster domain; pull specs use either.
pub const DEFAULT_INTERNAL_REGISTRY_FQDN: &str =
    "image-registry.openshift-image-registry.svc.cluster.local:5000";

/// Usernames whose updates pass untouched: OpenShift's trigger controllers.
pub const DEFAULT_CONTROLLER_USER_PREFIX: &str = "system:serviceaccount:openshift-infra:";

/// Enforce (patch) or audit (report only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Enforce,
    Audit,
}

/// Object annotation that puts one object in audit mode, in `serve` and in `mutate` alike.
pub const MODE_ANNOTATION: &str = "autoredeploy.io/mode";

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Audit => "audit",
        }
    }

    /// This mode, or audit when the object asks for it with `autoredeploy.io/mode: audit`.
    pub fn for_object(self, object: Option<&serde_json::Value>) -> Mode {
        let annotated_audit = object
            .and_then(|o| o.at("/metadata/annotations"))
            .and_then(|a| a.get(MODE_ANNOTATION))
            .and_then(serde_json::Value::as_str)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(Mode::Audit.as_str()));
        if annotated_audit { Mode::Audit } else { self }
    }

    /// What this mode does with the engine's patch: the one audit rule, which the admission
    /// adapter, `mutate` and `scan` (its table, `--fix`) all follow. Enforce writes a patch
    /// that changes something; audit writes none and reports it as the would-be patch.
    pub fn disposition(self, patch: &json_patch::Patch) -> Disposition<'_> {
        match (patch.0.is_empty(), self) {
            (true, _) => Disposition::Unchanged,
            (false, Mode::Enforce) => Disposition::Write(patch),
            (false, Mode::Audit) => Disposition::Report(patch),
        }
    }
}

/// What becomes of the engine's patch in a mode ([`Mode::disposition`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition<'p> {
    /// The engine would change nothing.
    Unchanged,
    /// Enforce: the patch is written (the admission response, the rewritten manifest,
    /// `scan --fix`).
    Write(&'p json_patch::Patch),
    /// Audit: nothing is written; the patch is only reported as what enforce would write.
    Report(&'p json_patch::Patch),
}

impl<'p> Disposition<'p> {
    /// The patch to write, if any.
    pub fn written(self) -> Option<&'p json_patch::Patch> {
        match self {
            Disposition::Write(patch) => Some(patch),
            _ => None,
        }
    }

    /// The patch only reported (audit), if any.
    pub fn would_be(self) -> Option<&'p json_patch::Patch> {
        match self {
            Disposition::Report(patch) => Some(patch),
            _ => None,
        }
    }
}

/// What to do with `imagePullPolicy` on trigger-managed containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PullPolicyHandling {
    /// Set `IfNotPresent` where the value is absent or the defaulted `Always`.
    #[default]
    IfNotPresent,
    /// Never touch `imagePullPolicy`.
    Keep,
}

/// Invalid configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid repository pattern {pattern:?}: {source}")]
    Pattern {
        pattern: String,
        #[source]
        source: globset::Error,
    },
    #[error("repository pattern {pattern:?} can never match: {reason}")]
    UnmatchablePattern { pattern: String, reason: String },
    #[error("internal registry host must not be empty")]
    EmptyRegistryHost,
}

/// Settings the rules read, with the defaults the rules are designed around.
#[derive(Debug, Clone)]
pub struct RuleConfig {
    /// Hosts of the internal registry, service or route, lowercased (`<host>/<ns>/<stream>:<tag>`
    /// binds directly; tags sourced there are never scheduled).
    pub internal_registry_hosts: Vec<String>,
    pub pull_policy: PullPolicyHandling,
    /// Also set `importPolicy.importMode: PreserveOriginal` (multi-arch images).
    pub preserve_original: bool,
    /// Which external repositories get scheduled imports: a repository (normalised, without
    /// tag, e.g. `docker.io/library/nginx`) qualifies when it matches an include pattern (or
    /// there are none) and no exclude pattern.
    pub repositories: RepositoryFilter,
    /// Double-rollout avoidance: CREATEs get the current digest, re-applies keep it.
    pub avoid_double_rollout: bool,
    /// Requests from usernames with this prefix pass untouched.
    pub controller_user_prefix: String,
    /// Pull budgets per registry and the import interval they are counted against.
    pub budgets: RegistryBudgets,
    /// Registries `autoredeploy poll` watches with manifest HEADs (lowercased): their tags
    /// are never scheduled. Empty unless configured.
    pub polled_registries: Vec<String>,
}

impl Default for RuleConfig {
    fn default() -> Self {
        RuleConfig {
            internal_registry_hosts: internal_registry_hosts(&[]),
            pull_policy: PullPolicyHandling::default(),
            preserve_original: false,
            repositories: RepositoryFilter::default(),
            avoid_double_rollout: true,
            controller_user_prefix: DEFAULT_CONTROLLER_USER_PREFIX.to_string(),
            budgets: RegistryBudgets::default(),
            polled_registries: Vec::new(),
        }
    }
}

/// The default internal registry hosts plus `extra` (service or route hosts), lowercased as
/// image references normalise them, without duplicates.
pub fn internal_registry_hosts(extra: &[String]) -> Vec<String> {
    let mut hosts: Vec<String> = [DEFAULT_INTERNAL_REGISTRY, DEFAULT_INTERNAL_REGISTRY_FQDN]
        .into_iter()
        .map(str::to_string)
        .chain(extra.iter().map(|h| h.trim().to_ascii_lowercase()))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    hosts.retain(|h| seen.insert(h.clone()));
    hosts
}

impl RuleConfig {
    /// Whether tags of `registry` (as image references normalise it) are polled, not scheduled.
    pub fn is_polled(&self, registry: &str) -> bool {
        self.polled_registries.iter().any(|r| r == registry)
    }

    /// Checks what the type cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self
            .internal_registry_hosts
            .iter()
            .any(|h| h.trim().is_empty())
        {
            return Err(ConfigError::EmptyRegistryHost);
        }
        Ok(())
    }
}

/// Include/exclude glob patterns over normalised repositories (`*` crosses `/`, so
/// `docker.io/*` is all of Docker Hub).
#[derive(Debug, Clone, Default)]
pub struct RepositoryFilter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl RepositoryFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, ConfigError> {
        Ok(RepositoryFilter {
            include: build_set(include)?,
            exclude: build_set(exclude)?,
        })
    }

    /// Whether scheduled imports apply to `repository` (normalised, no tag or digest).
    pub fn allows(&self, repository: &str) -> bool {
        let included = self
            .include
            .as_ref()
            .is_none_or(|set| set.is_match(repository));
        let excluded = self
            .exclude
            .as_ref()
            .is_some_and(|set| set.is_match(repository));
        included && !excluded
    }
}

fn build_set(patterns: &[String]) -> Result<Option<GlobSet>, ConfigError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        if let Some(reason) = patterns::unmatchable(pattern) {
            return Err(ConfigError::UnmatchablePattern {
                pattern: pattern.clone(),
                reason,
            });
        }
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(false)
            .build()
            .map_err(|source| ConfigError::Pattern {
                pattern: pattern.clone(),
                source,
            })?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|source| ConfigError::Pattern {
            pattern: patterns.join(","),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The audit rule: enforce writes a non-empty patch; audit writes none and reports it.
    #[test]
    fn audit_means_no_patch_but_a_would_be_patch() {
        let empty = json_patch::Patch(Vec::new());
        let patch: json_patch::Patch =
            serde_json::from_str(r#"[{"op": "add", "path": "/a", "value": 1}]"#).unwrap();
        for mode in [Mode::Enforce, Mode::Audit] {
            let none = mode.disposition(&empty);
            assert_eq!(none, Disposition::Unchanged);
            assert_eq!((none.written(), none.would_be()), (None, None));
        }
        let enforce = Mode::Enforce.disposition(&patch);
        assert_eq!(
            (enforce.written(), enforce.would_be()),
            (Some(&patch), None)
        );
        let audit = Mode::Audit.disposition(&patch);
        assert_eq!((audit.written(), audit.would_be()), (None, Some(&patch)));
    }

    #[test]
    fn repository_filter_includes_and_excludes() {
        let filter = RepositoryFilter::new(
            &["docker.io/**".to_string()],
            &["docker.io/library/*".to_string()],
        )
        .unwrap();
        assert!(filter.allows("docker.io/org/app"));
        assert!(!filter.allows("docker.io/library/nginx"));
        assert!(!filter.allows("quay.io/org/app"));
    }

    #[test]
    fn star_crosses_slashes_so_one_pattern_covers_a_registry() {
        let filter = RepositoryFilter::new(&[], &["docker.io/*".to_string()]).unwrap();
        assert!(!filter.allows("docker.io/library/nginx"));
        assert!(!filter.allows("docker.io/org/team/app"));
        assert!(filter.allows("quay.io/org/app"));
    }

    #[test]
    fn a_pattern_that_can_never_match_is_refused_with_the_fix() {
        let err = RepositoryFilter::new(&[], &["index.docker.io/*".to_string()]).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("\"index.docker.io/*\" can never match"),
            "{message}"
        );
        assert!(message.contains("write \"docker.io/*\""), "{message}");
        let err = RepositoryFilter::new(&["nginx".to_string()], &[]).unwrap_err();
        assert!(err.to_string().contains("docker.io/library/nginx"), "{err}");
    }

    #[test]
    fn internal_registry_hosts_add_to_the_defaults_lowercased() {
        let hosts = internal_registry_hosts(&[
            "Registry.Apps.Example.com".to_string(),
            DEFAULT_INTERNAL_REGISTRY.to_string(),
        ]);
        assert_eq!(
            hosts,
            [
                DEFAULT_INTERNAL_REGISTRY,
                DEFAULT_INTERNAL_REGISTRY_FQDN,
                "registry.apps.example.com"
            ]
        );
    }

    #[test]
    fn empty_filter_allows_everything() {
        assert!(RepositoryFilter::default().allows("quay.io/x/y"));
    }

    #[test]
    fn bad_pattern_is_named() {
        let err = RepositoryFilter::new(&["[".to_string()], &[]).unwrap_err();
        assert!(err.to_string().contains("\"[\""), "{err}");
    }
}
