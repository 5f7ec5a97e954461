//! The cluster-wide proxy: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (and their
//! lowercase spellings), which OpenShift's cluster-wide proxy sets in pods. The rules are
//! hyper-util's `client::proxy::matcher::Matcher` (curl's: `NO_PROXY` names hosts, domains
//! with or without a leading dot, IP addresses and CIDR ranges, or `*`), the CONNECT tunnel
//! its `client::legacy::connect::proxy::Tunnel`. This module only joins them into the
//! connector under rustls: an `https://` registry or token service behind a proxy is reached
//! through a CONNECT tunnel (TLS end to end, the proxy sees only the host and port), a plain
//! `http://` one (`importPolicy.insecure`) by sending the request to the proxy in absolute
//! form, and a host `NO_PROXY` matches directly. The proxy itself is spoken to over plain
//! HTTP (`http://proxy:3128`, as OpenShift's proxy settings usually name it); credentials in
//! its URL become `Proxy-Authorization: Basic`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::Uri;
use hyper::header::HeaderValue;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which proxy, if any, a URL goes through.
#[derive(Clone)]
pub struct Proxies(Arc<Matcher>);

impl Proxies {
    /// The proxy settings of the environment.
    pub fn from_env() -> Self {
        Proxies(Arc::new(Matcher::from_env()))
    }

    /// Explicit settings (tests): proxy URLs for `http://` and `https://` targets, and the
    /// `NO_PROXY` list.
    pub fn new(http: &str, https: &str, no_proxy: &str) -> Self {
        Proxies(Arc::new(
            Matcher::builder()
                .http(http.to_string())
                .https(https.to_string())
                .no(no_proxy.to_string())
                .build(),
        ))
    }

    /// No proxy at all.
    pub fn none() -> Self {
        Proxies::new("", "", "")
    }

    /// The `Proxy-Authorization` a plain-HTTP request to `uri` needs (forwarded by a proxy
    /// with credentials); tunnelled requests carry it on their CONNECT instead.
    pub fn forward_authorization(&self, uri: &Uri) -> Option<HeaderValue> {
        if uri.scheme_str() != Some("http") {
            return None;
        }
        self.0.intercept(uri)?.basic_auth().cloned()
    }
}

/// The TCP connector under rustls: direct, through a CONNECT tunnel, or to a forwarding proxy.
#[derive(Clone)]
pub struct ProxyConnector {
    http: HttpConnector,
    proxies: Proxies,
}

impl ProxyConnector {
    pub fn new(proxies: Proxies) -> Self {
        let mut http = HttpConnector::new();
        // rustls above this connector speaks TLS for https:// targets.
        http.enforce_http(false);
        ProxyConnector { http, proxies }
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<ProxyStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let intercept = self.proxies.0.intercept(&dst);
        let mut http = self.http.clone();
        Box::pin(async move {
            let Some(proxy) = intercept else {
                let io = http.call(dst).await?;
                return Ok(ProxyStream { io, forward: false });
            };
            if dst.scheme_str() == Some("https") {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), http);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let io = tunnel.call(dst).await?;
                Ok(ProxyStream { io, forward: false })
            } else {
                let io = http.call(proxy.uri().clone()).await?;
                Ok(ProxyStream { io, forward: true })
            }
        })
    }
}

/// A connection, and whether requests on it go to a forwarding proxy (absolute-form URIs).
pub struct ProxyStream {
    io: TokioIo<TcpStream>,
    forward: bool,
}

impl Connection for ProxyStream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.forward)
    }
}

impl Read for ProxyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for ProxyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}
