//! `autoredeploy serve`: flags, telemetry set-up, and the server's lifetime.

use clap::Args;

use super::rules::RuleArgs;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("serve is not built yet")
}
