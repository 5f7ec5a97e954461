//! Certificate generation (rcgen) shared by `autoredeploy certs` and `serve --dev-certs`: a
//! CA and a serving certificate signed by it, written as `ca.crt`, `tls.crt` and `tls.key`
//! (the key readable by its owner only). ECDSA P-256, SHA-256, with DNS/IP SANs: the API
//! server rejects CN-only certificates.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

pub const CA_FILE: &str = "ca.crt";
pub const CERT_FILE: &str = "tls.crt";
pub const KEY_FILE: &str = "tls.key";
/// Names every dev certificate carries, so loopback clients can connect.
pub const DEV_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];
const CA_COMMON_NAME: &str = "autoredeploy CA";
const CA_VALIDITY: Duration = Duration::days(3650);
const SERVING_VALIDITY: Duration = Duration::days(365);
/// Tolerates clocks slightly behind ours.
const BACKDATE: Duration = Duration::hours(1);
const KEY_MODE: u32 = 0o600;
const CERT_MODE: u32 = 0o644;

#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    #[error("at least one DNS name is required")]
    NoNames,
    #[error("cannot generate certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{0} already exists (use --force to overwrite)")]
    Exists(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A CA and a serving certificate with its key, PEM encoded.
#[derive(Debug, Clone)]
pub struct GeneratedCerts {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl GeneratedCerts {
    /// `caBundle` for the webhook configuration: standard base64 of the CA PEM.
    pub fn ca_bundle(&self) -> String {
        ca_bundle(self.ca_pem.as_bytes())
    }
}

/// Standard base64 of a PEM bundle.
pub fn ca_bundle(ca_pem: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(ca_pem)
}

/// A fresh CA and a serving certificate for `names` (DNS names or IP addresses).
pub fn generate(names: &[String]) -> Result<GeneratedCerts, CertsError> {
    let first = names.first().ok_or(CertsError::NoNames)?;
    let now = OffsetDateTime::now_utc();
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now - BACKDATE;
    ca.not_after = now + CA_VALIDITY;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, &ca_key);

    let key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(names.to_vec())?;
    leaf.distinguished_name
        .push(DnType::CommonName, first.as_str());
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = now - BACKDATE;
    leaf.not_after = now + SERVING_VALIDITY;
    let cert = leaf.signed_by(&key, &issuer)?;
    Ok(GeneratedCerts {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Write `ca.crt`, `tls.crt` and `tls.key` (mode 0600) into `dir`, creating it.
pub fn write(dir: &Path, certs: &GeneratedCerts, overwrite: bool) -> Result<(), CertsError> {
    std::fs::create_dir_all(dir).map_err(|source| CertsError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let files = [
        (CA_FILE, &certs.ca_pem, CERT_MODE),
        (CERT_FILE, &certs.cert_pem, CERT_MODE),
        (KEY_FILE, &certs.key_pem, KEY_MODE),
    ];
    let existing = files.iter().map(|f| dir.join(f.0)).find(|p| p.exists());
    if let (false, Some(existing)) = (overwrite, existing) {
        return Err(CertsError::Exists(existing));
    }
    for (name, pem, mode) in files {
        let path = dir.join(name);
        write_file(&path, pem.as_bytes(), mode)
            .map_err(|source| CertsError::Write { path, source })?;
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    // Remove first so the mode applies even when the file existed with another one.
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The dev certificate set in `dir`: generated (for [`DEV_NAMES`] plus `extra_names`) when
/// `tls.crt` or `tls.key` is missing, reused otherwise.
#[derive(Debug, Clone)]
pub struct DevCerts {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
    pub generated: bool,
}

pub fn ensure_dev_certs(dir: &Path, extra_names: &[String]) -> Result<DevCerts, CertsError> {
    let dev = DevCerts {
        cert: dir.join(CERT_FILE),
        key: dir.join(KEY_FILE),
        ca: dir.join(CA_FILE),
        generated: false,
    };
    if dev.cert.exists() && dev.key.exists() {
        return Ok(dev);
    }
    let mut names: Vec<String> = DEV_NAMES.iter().map(|n| n.to_string()).collect();
    for name in extra_names {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    write(dir, &generate(&names)?, true)?;
    Ok(DevCerts {
        generated: true,
        ..dev
    })
}
