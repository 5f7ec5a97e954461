//! Flags that shape the rules, shared by `serve` and `mutate` so both bind identically.

use clap::Args;

use crate::config::{
    ConfigError, DEFAULT_CONTROLLER_USER_PREFIX, DEFAULT_IMPORT_INTERVAL, PullPolicyHandling,
    RegistryBudget, RegistryBudgets, RepositoryFilter, RuleConfig, Window, internal_registry_hosts,
};

#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    /// More hosts of the cluster's own registry, service or route (added to
    /// image-registry.openshift-image-registry.svc:5000 and its .svc.cluster.local spelling):
    /// `<host>/<ns>/<stream>:<tag>` binds to that stream, and tags sourced there are never
    /// scheduled.
    #[arg(
        long = "internal-registry",
        env = "AUTOREDEPLOY_INTERNAL_REGISTRY",
        value_delimiter = ',',
        value_name = "HOST"
    )]
    pub internal_registry: Vec<String>,
    /// imagePullPolicy for trigger-managed containers.
    #[arg(long, env = "AUTOREDEPLOY_PULL_POLICY", value_enum, default_value_t = PullPolicyHandling::IfNotPresent)]
    pub pull_policy: PullPolicyHandling,
    /// Also set importPolicy.importMode: PreserveOriginal (keep whole multi-arch manifest lists).
    #[arg(long, env = "AUTOREDEPLOY_PRESERVE_ORIGINAL")]
    pub preserve_original: bool,
    /// Only external repositories matching one of these globs get scheduled imports
    /// (normalised, e.g. `docker.io/myorg/*`).
    #[arg(
        long = "include-repository",
        env = "AUTOREDEPLOY_INCLUDE_REPOSITORIES",
        value_delimiter = ','
    )]
    pub include_repository: Vec<String>,
    /// External repositories matching one of these globs never get scheduled imports.
    #[arg(
        long = "exclude-repository",
        env = "AUTOREDEPLOY_EXCLUDE_REPOSITORIES",
        value_delimiter = ','
    )]
    pub exclude_repository: Vec<String>,
    /// Do not pin digests to avoid the double rollout after `oc apply`.
    #[arg(long, env = "AUTOREDEPLOY_NO_DIGEST_PINNING")]
    pub no_digest_pinning: bool,
    /// Usernames with this prefix (OpenShift's trigger controllers) pass untouched.
    #[arg(long, env = "AUTOREDEPLOY_CONTROLLER_USER_PREFIX", default_value = DEFAULT_CONTROLLER_USER_PREFIX)]
    pub controller_user_prefix: String,
    /// Pull budget of a registry, REGISTRY=PULLS/WINDOW (window in m or h) or
    /// REGISTRY=unlimited; repeatable. docker.io=50/6h unless set. A tag whose scheduled
    /// import would take its registry over budget is left unscheduled.
    #[arg(
        long = "registry-budget",
        env = "AUTOREDEPLOY_REGISTRY_BUDGETS",
        value_delimiter = ',',
        value_name = "REGISTRY=PULLS/WINDOW"
    )]
    pub registry_budget: Vec<RegistryBudget>,
    /// OpenShift's scheduled import interval (fixed at 15m on OpenShift 4), used to count
    /// pulls per window.
    #[arg(long, env = "AUTOREDEPLOY_IMPORT_INTERVAL", default_value = DEFAULT_IMPORT_INTERVAL, value_name = "DURATION")]
    pub import_interval: Window,
    /// Registries polled by `autoredeploy poll` (manifest HEAD, no pull until an image
    /// changes): their tags are not scheduled. Repeatable or comma-separated; none unless set
    /// (the chart sets docker.io when the poller is on).
    #[arg(
        long = "polled-registry",
        env = "AUTOREDEPLOY_POLLED_REGISTRIES",
        value_delimiter = ',',
        value_name = "REGISTRY"
    )]
    pub polled_registry: Vec<String>,
}

impl TryFrom<&RuleArgs> for RuleConfig {
    type Error = ConfigError;

    fn try_from(args: &RuleArgs) -> Result<Self, Self::Error> {
        let config = RuleConfig {
            internal_registry_hosts: internal_registry_hosts(&args.internal_registry),
            pull_policy: args.pull_policy,
            preserve_original: args.preserve_original,
            repositories: RepositoryFilter::new(
                &args.include_repository,
                &args.exclude_repository,
            )?,
            avoid_double_rollout: !args.no_digest_pinning,
            controller_user_prefix: args.controller_user_prefix.clone(),
            budgets: RegistryBudgets::new(&args.registry_budget, args.import_interval),
            polled_registries: polled_registries(&args.polled_registry),
        };
        config.validate()?;
        Ok(config)
    }
}

/// The polled registries as image references normalise hosts (`index.docker.io` and
/// `registry-1.docker.io` are `docker.io`), lowercased, without blanks or duplicates.
pub fn polled_registries(args: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for arg in args {
        let host = arg.trim().to_ascii_lowercase();
        let host = match host.as_str() {
            "" => continue,
            "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
                "docker.io".to_string()
            }
            _ => host,
        };
        if !out.contains(&host) {
            out.push(host);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polled_registries_are_normalised_like_image_references() {
        let args = ["Docker.io", " index.docker.io", "quay.io", ""].map(String::from);
        assert_eq!(polled_registries(&args), ["docker.io", "quay.io"]);
    }
}
