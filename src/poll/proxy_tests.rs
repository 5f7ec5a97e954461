//! The proxy settings against a small proxy on loopback that records what it is asked: an
//! `https://` registry is reached through a CONNECT tunnel carrying the proxy's credentials
//! (TLS end to end, to the fake registry served over TLS with a certificate for its name), a
//! plain-HTTP one through the proxy's forwarding (absolute-form requests, relayed to the fake
//! registry), and a host in `NO_PROXY` directly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use super::fake_registry_tests::Fake;
use super::proxy::Proxies;
use super::registry::{Head, RegistryClient};
use super::tags::PolledTag;

/// What the proxy was asked: the request line and the `Proxy-Authorization` of each request.
#[derive(Default)]
struct Seen(Mutex<Vec<(String, Option<String>)>>);

impl Seen {
    fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(l, _)| l.clone())
            .collect()
    }

    fn all_authorized(&self, credentials: &str) -> bool {
        let seen = self.0.lock().unwrap();
        !seen.is_empty()
            && seen
                .iter()
                .all(|(_, auth)| auth.as_deref() == Some(credentials))
    }
}

/// A proxy on a free loopback port. A CONNECT to `registry.example:443` is tunnelled to
/// `upstream` (the TLS fake registry), any other CONNECT answered `200` and closed; a
/// forwarded request for `registry.internal:5000` is relayed to `upstream`, in origin form,
/// any other to its own host.
async fn start_proxy(upstream: String) -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Seen::default());
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let (seen, upstream) = (record.clone(), upstream.clone());
            tokio::spawn(async move { relay(client, seen, upstream).await });
        }
    });
    (address, seen)
}

async fn relay(mut client: TcpStream, seen: Arc<Seen>, upstream: String) {
    // One request per connection is all the proxy needs: it answers `Connection: close`.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        if client.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let auth = lines
        .clone()
        .find_map(|l| {
            l.strip_prefix("proxy-authorization: ")
                .or(l.strip_prefix("Proxy-Authorization: "))
        })
        .map(str::to_string);
    seen.0.lock().unwrap().push((request_line.clone(), auth));
    let mut words = request_line.split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method == "CONNECT" {
        client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .unwrap();
        if target == "registry.example:443"
            && let Ok(mut server) = TcpStream::connect(&upstream).await
        {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        }
        return;
    }
    // Forwarding: `HEAD http://host/path HTTP/1.1` becomes `HEAD /path HTTP/1.1` upstream.
    let rest = target.strip_prefix("http://").unwrap_or(target);
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let to = if host == "registry.internal:5000" {
        upstream
    } else {
        host.to_string()
    };
    let Ok(mut server) = TcpStream::connect(&to).await else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    };
    let forwarded =
        text.replacen(target, path, 1)
            .replacen("\r\n\r\n", "\r\nconnection: close\r\n\r\n", 1);
    server.write_all(forwarded.as_bytes()).await.unwrap();
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

fn tag(registry: &str, insecure: bool) -> PolledTag {
    PolledTag {
        namespace: "shop".into(),
        stream: "app".into(),
        tag: "1".into(),
        from: format!("{registry}/team/public:1"),
        registry: registry.into(),
        path: "team/public".into(),
        reference: "1".into(),
        insecure,
        import_policy: Value::Null,
        reference_policy: Value::Null,
        status_digest: None,
        pulls: 1,
    }
}

/// The fake registry over TLS on a free loopback port, with a certificate for
/// `registry.example` from a CA of its own; its address and a client config trusting that CA.
async fn start_tls_registry(fake: Arc<Fake>) -> (String, rustls::ClientConfig) {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certs = crate::server::certs::generate(&["registry.example".to_string()]).unwrap();
    let chain = CertificateDer::pem_slice_iter(certs.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(certs.key_pem.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let app = super::fake_registry_tests::router(fake);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(certs.ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (address, client)
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel_with_the_proxys_credentials() {
    let fake = super::fake_registry_tests::start().await;
    let (tls_registry, trust) = start_tls_registry(fake.clone()).await;
    let (proxy, seen) = start_proxy(tls_registry).await;
    let url = format!("http://user:secret@{proxy}");
    let client =
        RegistryClient::with_tls(Duration::from_secs(5), Proxies::new(&url, &url, ""), trust)
            .unwrap();
    // registry.example does not resolve: only the proxy can reach it, through the tunnel, and
    // TLS inside it checks the certificate for that name.
    let head = client.head(&tag("registry.example", false)).await;
    assert!(
        matches!(&head, Head::Digest { digest, .. } if digest == "sha256:1111"),
        "{head:?}"
    );
    let lines = seen.lines();
    let connects: Vec<&String> = lines.iter().filter(|l| l.starts_with("CONNECT")).collect();
    assert!(
        !connects.is_empty()
            && connects
                .iter()
                .all(|l| *l == "CONNECT registry.example:443 HTTP/1.1"),
        "the registry only through tunnels: {lines:?}"
    );
    // The token service of the fake is plain HTTP: forwarded, not tunnelled.
    assert!(
        lines.iter().any(|l| l.starts_with("GET http://")),
        "{lines:?}"
    );
    // "user:secret" in base64.
    assert!(seen.all_authorized("Basic dXNlcjpzZWNyZXQ="), "{lines:?}");
    assert_eq!(
        fake.manifest_requests.lock().unwrap().as_slice(),
        ["HEAD team/public", "HEAD team/public"],
        "the 401 with its challenge, then the HEAD with the token"
    );
}

#[tokio::test]
async fn plain_http_is_forwarded_and_no_proxy_goes_direct() {
    let fake = super::fake_registry_tests::start().await;
    let upstream = fake.host.lock().unwrap().clone();
    let (proxy, seen) = start_proxy(upstream.clone()).await;
    let url = format!("http://user:secret@{proxy}");

    // An insecure registry behind the proxy: the HEAD and the token request are forwarded.
    let client =
        RegistryClient::with_proxies(Duration::from_secs(5), Proxies::new(&url, &url, "")).unwrap();
    let head = client.head(&tag("registry.internal:5000", true)).await;
    assert!(
        matches!(&head, Head::Digest { digest, .. } if digest == "sha256:1111"),
        "{head:?}"
    );
    let lines = seen.lines();
    assert_eq!(
        lines.first().map(String::as_str),
        Some("HEAD http://registry.internal:5000/v2/team/public/manifests/1 HTTP/1.1"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("GET http://{upstream}/token?"))),
        "the token request is forwarded too: {lines:?}"
    );
    assert!(seen.all_authorized("Basic dXNlcjpzZWNyZXQ="), "{lines:?}");
    let through_proxy = seen.lines().len();

    // The same registry named in NO_PROXY (its IP address): straight to it.
    let client = RegistryClient::with_proxies(
        Duration::from_secs(5),
        Proxies::new(&url, &url, "localhost,127.0.0.1"),
    )
    .unwrap();
    let head = client.head(&tag(&upstream, true)).await;
    assert!(
        matches!(&head, Head::Digest { digest, .. } if digest == "sha256:1111"),
        "{head:?}"
    );
    assert_eq!(
        seen.lines().len(),
        through_proxy,
        "NO_PROXY bypasses the proxy"
    );
    assert_eq!(
        fake.manifest_requests.lock().unwrap().len(),
        4,
        "two HEADs each time (401 with a challenge, then with the token)"
    );
}
