//! The FLOOR server: what any Rust TLS webhook costs before doing any work. It uses the same
//! TLS configuration as autoredeploy (built by the same library functions: ring, TLS 1.2 and
//! 1.3, ALPN h2 + http/1.1, the same certificate), the same hyper-util connection builder
//! (`server::run::http_builder`) and the same two runtime workers, reads each request body to
//! the end (keep-alive needs it) and answers one constant allow review without parsing anything.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use autoredeploy::server::run::http_builder;
use autoredeploy::server::tls;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The constant answer. Its uid is what the client expects from the floor.
pub const FLOOR_UID: &str = "floor";
const ANSWER: &[u8] = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"floor","allowed":true}}"#;
/// Same as `autoredeploy serve`.
const WORKER_THREADS: usize = 2;

/// Serve on an OS-chosen loopback port, printing `{"message":"listening","webhook":ADDR}`.
pub fn run(cert: &Option<PathBuf>, key: &Option<PathBuf>) -> anyhow::Result<()> {
    let (cert, key) = cert
        .as_ref()
        .zip(key.as_ref())
        .context("--cert and --key")?;
    let provider = tls::provider();
    let certified = tls::load_certified_key(cert, key, &provider)?;
    let resolver = Arc::new(tls::CertResolver::new(certified));
    let acceptor = TlsAcceptor::from(Arc::new(tls::server_config(provider, resolver)?));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .enable_all()
        .build()?
        .block_on(serve(acceptor))
}

async fn serve(acceptor: TlsAcceptor) -> anyhow::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!(r#"{{"message":"listening","webhook":"{addr}"}}"#);
    let builder = Arc::new(http_builder());
    loop {
        let (stream, _) = listener.accept().await?;
        let (acceptor, builder) = (acceptor.clone(), builder.clone());
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper::service::service_fn(answer);
            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
        });
    }
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read (and drop) the body: the connection cannot be reused otherwise.
    let _ = request.into_body().collect().await;
    let mut response = Response::new(Full::new(Bytes::from_static(ANSWER)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
