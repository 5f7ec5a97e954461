//! `autoredeploy mutate`: the engine over manifests, offline.

use std::process::ExitCode;

use clap::Args;

use super::rules::RuleArgs;

#[derive(Debug, Clone, Args)]
pub struct MutateArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
}

pub fn run(args: MutateArgs) -> ExitCode {
    let _ = args;
    eprintln!("autoredeploy: mutate is not built yet");
    ExitCode::from(2)
}
