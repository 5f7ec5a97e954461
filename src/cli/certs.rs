//! `autoredeploy certs`: a CA and a serving certificate for given DNS names.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct CertsArgs {}

pub fn run(args: CertsArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("certs is not built yet")
}
