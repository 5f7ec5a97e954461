//! Flags that shape the rules, shared by `serve` and `mutate` so both bind identically.

use clap::Args;

use crate::config::{
    ConfigError, DEFAULT_CONTROLLER_USER_PREFIX, DEFAULT_INTERNAL_REGISTRY, PullPolicyHandling,
    RepositoryFilter, RuleConfig,
};

#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    /// Internal registry host(s): `<host>/<ns>/<stream>:<tag>` binds to that stream directly.
    #[arg(long = "internal-registry", env = "AUTOREDEPLOY_INTERNAL_REGISTRY", value_delimiter = ',', default_value = DEFAULT_INTERNAL_REGISTRY)]
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
    /// Do not pin digests to avoid the double rollout (SPEC §1.4).
    #[arg(long, env = "AUTOREDEPLOY_NO_DIGEST_PINNING")]
    pub no_digest_pinning: bool,
    /// Usernames with this prefix (OpenShift's trigger controllers) pass untouched.
    #[arg(long, env = "AUTOREDEPLOY_CONTROLLER_USER_PREFIX", default_value = DEFAULT_CONTROLLER_USER_PREFIX)]
    pub controller_user_prefix: String,
}

impl TryFrom<&RuleArgs> for RuleConfig {
    type Error = ConfigError;

    fn try_from(args: &RuleArgs) -> Result<Self, Self::Error> {
        let config = RuleConfig {
            internal_registry_hosts: args.internal_registry.clone(),
            pull_policy: args.pull_policy,
            preserve_original: args.preserve_original,
            repositories: RepositoryFilter::new(
                &args.include_repository,
                &args.exclude_repository,
            )?,
            avoid_double_rollout: !args.no_digest_pinning,
            controller_user_prefix: args.controller_user_prefix.clone(),
        };
        config.validate()?;
        Ok(config)
    }
}
