//! Manifest HEADs against a tag's registry: the distribution API's
//! `HEAD /v2/<path>/manifests/<reference>` with the Accept headers of an OCI index, an OCI
//! manifest, a Docker manifest list and a Docker v2 manifest, and the anonymous bearer-token
//! flow (`WWW-Authenticate: Bearer realm=…`, as Docker Hub, quay.io and ghcr.io answer).
//!
//! Written on hyper (already in the tree through kube, with the same rustls/ring stack) rather
//! than the `oci-client` crate (0.18), whose `Client::fetch_manifest_digest` is the nearest
//! fit but does three things the poller must not: when the HEAD's answer has no
//! `Docker-Content-Digest` it sends a GET of the manifest (a pull on Docker Hub), and a `429`
//! or `401` answer has none, so every rate-limited HEAD would cost a pull; it returns the
//! digest alone, so the `ratelimit-remaining` and `Retry-After` headers are lost; and it maps a
//! `429` to a generic server error. Plain HTTP for insecure registries
//! (`ClientProtocol::HttpsExcept`) and its proxy settings would have fitted. Here a `200`
//! without the header is an error, and no GET is ever sent to a manifest URL. Token requests
//! go to the token service, not the registry, and cost no pull.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::decide::{bearer_challenge, ratelimit_count, retry_after};
use super::proxy::{Proxies, ProxyConnector};
use super::tags::PolledTag;

/// What a manifest may be, most specific last; a registry answers with the first it has.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// The result of one HEAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// The manifest's digest, and the registry's `ratelimit-remaining` when it sent one.
    Digest {
        digest: String,
        remaining: Option<u64>,
    },
    /// `429`: back off this registry for this long.
    RateLimited { retry_after: Duration },
    /// `401`/`403` even with an anonymous token: a private repository.
    Unauthorized,
    /// `404`: no such tag.
    NotFound,
    /// Anything else (network, TLS, a `200` without `Docker-Content-Digest`, …).
    Failed(String),
}

impl Head {
    /// The metric label of the result.
    pub fn result(&self) -> &'static str {
        match self {
            Head::Digest { .. } => "ok",
            Head::RateLimited { .. } => "rate_limited",
            Head::Unauthorized => "unauthorized",
            Head::NotFound => "not_found",
            Head::Failed(_) => "error",
        }
    }
}

type Https = hyper_rustls::HttpsConnector<ProxyConnector>;

/// A registry client shared by all polls; caches anonymous tokens per repository.
pub struct RegistryClient {
    client: Client<Https, Empty<Bytes>>,
    proxies: Proxies,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
    timeout: Duration,
}

impl RegistryClient {
    /// A client that honours the environment's proxy settings (`HTTPS_PROXY`, `NO_PROXY`, …).
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        RegistryClient::with_proxies(timeout, Proxies::from_env())
    }

    pub fn with_proxies(timeout: Duration, proxies: Proxies) -> anyhow::Result<Self> {
        let tls = hyper_rustls::HttpsConnectorBuilder::new().with_native_roots()?;
        RegistryClient::build(timeout, proxies, tls)
    }

    /// Trusting only the roots of `tls` (tests: a registry with a certificate of their own).
    #[cfg(test)]
    pub fn with_tls(
        timeout: Duration,
        proxies: Proxies,
        tls: rustls::ClientConfig,
    ) -> anyhow::Result<Self> {
        let tls = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls);
        RegistryClient::build(timeout, proxies, tls)
    }

    fn build(
        timeout: Duration,
        proxies: Proxies,
        tls: hyper_rustls::HttpsConnectorBuilder<hyper_rustls::builderstates::WantsSchemes>,
    ) -> anyhow::Result<Self> {
        let https = tls
            .https_or_http()
            .enable_http1()
            .wrap_connector(ProxyConnector::new(proxies.clone()));
        Ok(RegistryClient {
            client: Client::builder(TokioExecutor::new()).build(https),
            proxies,
            tokens: Mutex::new(HashMap::new()),
            timeout,
        })
    }

    /// HEAD the tag's manifest (over plain HTTP only when the tag's import is insecure).
    pub async fn head(&self, tag: &PolledTag) -> Head {
        match tokio::time::timeout(self.timeout, self.head_inner(tag)).await {
            Ok(head) => head,
            Err(_) => Head::Failed(format!("no answer within {:?}", self.timeout)),
        }
    }

    async fn head_inner(&self, tag: &PolledTag) -> Head {
        let scheme = if tag.insecure { "http" } else { "https" };
        let host = api_host(&tag.registry);
        let url = format!(
            "{scheme}://{host}/v2/{}/manifests/{}",
            tag.path, tag.reference
        );
        let token_key = format!("{host}/{}", tag.path);
        let cached = self.cached_token(&token_key);
        let response = match self.send(Method::HEAD, &url, cached.as_deref()).await {
            Ok(r) => r,
            Err(e) => return Head::Failed(e),
        };
        let response = if response.status() == StatusCode::UNAUTHORIZED {
            let Some(challenge) = response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(bearer_challenge)
            else {
                return Head::Unauthorized;
            };
            let scope = challenge
                .scope
                .clone()
                .unwrap_or_else(|| format!("repository:{}:pull", tag.path));
            let token = match self
                .token(&challenge.realm, challenge.service.as_deref(), &scope)
                .await
            {
                Ok(t) => t,
                Err(e) => return Head::Failed(e),
            };
            self.remember_token(token_key, token.clone());
            match self.send(Method::HEAD, &url, Some(&token.0)).await {
                Ok(r) => r,
                Err(e) => return Head::Failed(e),
            }
        } else {
            response
        };
        interpret(response.status(), response.headers())
    }

    fn cached_token(&self, key: &str) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens
            .get(key)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(t, _)| t.clone())
    }

    fn remember_token(&self, key: String, token: (String, Duration)) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.insert(key, (token.0, Instant::now() + token.1));
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let mut request = Request::builder()
            .method(method)
            .uri(url)
            .header(header::ACCEPT, MANIFEST_ACCEPT)
            .header(
                header::USER_AGENT,
                concat!("autoredeploy/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Empty::new()).map_err(|e| e.to_string())?;
        self.request(request)
            .await
            .map_err(|e| format!("{url}: {e}"))
    }

    /// Send, with `Proxy-Authorization` when a forwarding proxy with credentials relays it.
    async fn request(
        &self,
        mut request: Request<Empty<Bytes>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        if let Some(auth) = self.proxies.forward_authorization(request.uri()) {
            request
                .headers_mut()
                .insert(header::PROXY_AUTHORIZATION, auth);
        }
        self.client.request(request).await.map_err(|e| {
            // hyper's own message is only "client error (Connect)": name the cause.
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        })
    }

    /// An anonymous token from the challenge's realm, and how long it lasts.
    async fn token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<(String, Duration), String> {
        let mut url = format!("{realm}?scope={}", encode(scope));
        if let Some(service) = service {
            url.push_str(&format!("&service={}", encode(service)));
        }
        let request = Request::get(&url)
            .header(
                header::USER_AGENT,
                concat!("autoredeploy/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let response = self
            .request(request)
            .await
            .map_err(|e| format!("token {realm}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("token {realm}: HTTP {}", response.status()));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("token {realm}: {e}"))?
            .to_bytes();
        let json: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("token {realm}: {e}"))?;
        let token = json
            .get("token")
            .or_else(|| json.get("access_token"))
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("token {realm}: no token in the answer"))?;
        let lifetime = json
            .get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(60)
            .saturating_sub(10)
            .max(10);
        Ok((token.to_string(), Duration::from_secs(lifetime)))
    }
}

/// What a HEAD's status and headers mean. Pure.
pub fn interpret(status: StatusCode, headers: &header::HeaderMap) -> Head {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match status {
        StatusCode::OK => match text("docker-content-digest") {
            Some(digest) if digest.starts_with("sha256:") || digest.contains(':') => Head::Digest {
                digest: digest.trim().to_string(),
                remaining: text("ratelimit-remaining").and_then(ratelimit_count),
            },
            // Never fall back to a GET: that would be a pull.
            _ => Head::Failed("HEAD answered 200 without Docker-Content-Digest".into()),
        },
        StatusCode::TOO_MANY_REQUESTS => Head::RateLimited {
            retry_after: retry_after(text("retry-after"), Duration::from_secs(60)),
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Head::Unauthorized,
        StatusCode::NOT_FOUND => Head::NotFound,
        other => Head::Failed(format!("HEAD answered HTTP {other}")),
    }
}

/// Docker Hub's API lives on another host than its name.
fn api_host(registry: &str) -> &str {
    if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    }
}

/// Percent-encode a query value (scopes hold `:` and `/`).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_200_without_the_digest_header_is_an_error_not_a_get() {
        let headers = header::HeaderMap::new();
        assert!(matches!(
            interpret(StatusCode::OK, &headers),
            Head::Failed(_)
        ));
        let mut headers = header::HeaderMap::new();
        headers.insert("docker-content-digest", "sha256:ab".parse().unwrap());
        headers.insert("ratelimit-remaining", "42;w=21600".parse().unwrap());
        assert_eq!(
            interpret(StatusCode::OK, &headers),
            Head::Digest {
                digest: "sha256:ab".into(),
                remaining: Some(42)
            }
        );
        let mut headers = header::HeaderMap::new();
        headers.insert("retry-after", "5".parse().unwrap());
        assert_eq!(
            interpret(StatusCode::TOO_MANY_REQUESTS, &headers),
            Head::RateLimited {
                retry_after: Duration::from_secs(5)
            }
        );
    }

    #[test]
    fn scopes_are_encoded_and_docker_hub_has_its_api_host() {
        assert_eq!(
            encode("repository:library/nginx:pull"),
            "repository%3Alibrary%2Fnginx%3Apull"
        );
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("quay.io"), "quay.io");
    }
}
