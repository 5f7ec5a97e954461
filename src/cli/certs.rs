//! `autoredeploy certs`: a CA and a serving certificate for given DNS names, written as
//! `ca.crt`, `tls.crt` and `tls.key` (mode 0600); the base64 `caBundle` goes to stdout.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::server::certs;

#[derive(Debug, Clone, Args)]
pub struct CertsArgs {
    /// DNS names (or IP addresses) of the serving certificate, e.g. `svc.ns.svc`.
    #[arg(
        long = "dns",
        env = "AUTOREDEPLOY_CERTS_DNS",
        value_delimiter = ',',
        required = true,
        value_name = "NAME"
    )]
    pub dns: Vec<String>,
    /// Directory to write ca.crt, tls.crt and tls.key into (created when missing).
    #[arg(long, env = "AUTOREDEPLOY_CERTS_OUT", value_name = "DIR")]
    pub out: PathBuf,
    /// Overwrite existing files.
    #[arg(long, env = "AUTOREDEPLOY_CERTS_FORCE")]
    pub force: bool,
}

pub fn run(args: CertsArgs) -> anyhow::Result<()> {
    let names: Vec<String> = args
        .dns
        .iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    let generated = certs::generate(&names).context("generating certificates")?;
    certs::write(&args.out, &generated, args.force)?;
    eprintln!(
        "wrote {}, {} and {} in {}; caBundle:",
        certs::CA_FILE,
        certs::CERT_FILE,
        certs::KEY_FILE,
        args.out.display()
    );
    println!("{}", generated.ca_bundle());
    Ok(())
}
