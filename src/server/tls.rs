//! TLS material: load and check a certificate chain and key from PEM files, serve them
//! through a resolver backed by `ArcSwap` (a reload affects new handshakes only), and re-read
//! the files when their metadata changes. Metadata is taken through symlinks, so Kubernetes'
//! `..data` symlink swap of a mounted Secret is seen as a change. A bad new pair is logged
//! and counted, and the previous one keeps serving.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::metrics::Metrics;

/// ALPN protocols offered; the API server offers only `http/1.1`, which must stay listed.
pub const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Why TLS material could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path} is not a PEM certificate chain: {source}")]
    CertificatePem {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("{path} holds no usable PEM private key: {source}")]
    KeyPem {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("the key does not fit the certificate or is unsupported: {0}")]
    Key(#[from] rustls::Error),
}

/// The crypto provider the server uses (ring).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Read and check a certificate chain and its private key.
pub fn load_certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::CertificatePem {
            path: cert.to_owned(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_owned(),
        });
    }
    let key_der =
        PrivateKeyDer::from_pem_slice(&read(key)?).map_err(|source| TlsError::KeyPem {
            path: key.to_owned(),
            source,
        })?;
    Ok(CertifiedKey::from_der(chain, key_der, provider)?)
}

/// The serving certificate, swapped atomically on reload.
pub struct CertResolver {
    current: ArcSwap<CertifiedKey>,
}

impl CertResolver {
    pub fn new(key: CertifiedKey) -> Self {
        CertResolver {
            current: ArcSwap::from_pointee(key),
        }
    }

    /// Serve `key` from the next handshake on.
    pub fn replace(&self, key: CertifiedKey) {
        self.current.store(Arc::new(key));
    }
}

impl fmt::Debug for CertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertResolver").finish_non_exhaustive()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// TLS 1.2 and 1.3, no client auth, ALPN h2 and http/1.1, certificates from `resolver`.
pub fn server_config(
    provider: Arc<CryptoProvider>,
    resolver: Arc<CertResolver>,
) -> Result<ServerConfig, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// What identifies one version of a file: device, inode, modification time and length,
/// taken through symlinks. `None` when the file cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp(Option<(u64, u64, i64, i64, u64)>);

impl FileStamp {
    fn of(path: &Path) -> Self {
        FileStamp(
            std::fs::metadata(path)
                .ok()
                .map(|m| (m.dev(), m.ino(), m.mtime(), m.mtime_nsec(), m.len())),
        )
    }
}

/// Watches the certificate and key files and reloads them into a resolver.
pub struct Reloader {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    resolver: Arc<CertResolver>,
    seen: (FileStamp, FileStamp),
}

impl Reloader {
    /// Starts from the files as they are now (already loaded by the caller).
    pub fn new(
        cert: PathBuf,
        key: PathBuf,
        provider: Arc<CryptoProvider>,
        resolver: Arc<CertResolver>,
    ) -> Self {
        let seen = (FileStamp::of(&cert), FileStamp::of(&key));
        Reloader {
            cert,
            key,
            provider,
            resolver,
            seen,
        }
    }

    /// Reload when either file changed since the last look. Returns whether it tried.
    pub fn check(&mut self, metrics: &Metrics) -> bool {
        let now = (FileStamp::of(&self.cert), FileStamp::of(&self.key));
        if now == self.seen {
            return false;
        }
        self.seen = now;
        match load_certified_key(&self.cert, &self.key, &self.provider) {
            Ok(key) => {
                self.resolver.replace(key);
                metrics.tls_reload("ok");
                tracing::info!(cert = %self.cert.display(), "serving certificate reloaded");
            }
            Err(err) => {
                metrics.tls_reload("error");
                tracing::warn!(error = %err, "serving certificate not reloaded; keeping the previous one");
            }
        }
        true
    }

    /// Check every `interval` until `stop` resolves. The files are small and local, so
    /// reading them on the runtime is cheaper than a blocking-pool hop.
    pub async fn run(mut self, interval: Duration, metrics: &Metrics, stop: impl Future) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = ticks.tick() => { self.check(metrics); }
            }
        }
    }
}
