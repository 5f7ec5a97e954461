//! A loopback TLS client (tokio-rustls + hyper's HTTP/1.1 client) that offers only the ALPN
//! protocols it is told to, like the API server (which offers only `http/1.1`), and a plain
//! HTTP client for the admin port.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls_pki_types::pem::PemObject;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub const HTTP11: &[u8] = b"http/1.1";

/// A connector trusting the PEM CAs given, offering `alpn`.
pub fn connector(ca_pems: &[&[u8]], alpn: &[&[u8]]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for pem in ca_pems {
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots.add(cert.expect("CA PEM")).expect("CA cert");
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    // Every connection does a full handshake, so it sees the certificate served now (a
    // resumed session reports the certificate of the original one).
    config.resumption = rustls::client::Resumption::disabled();
    TlsConnector::from(Arc::new(config))
}

/// A TLS connection to `addr` as `localhost`.
pub async fn tls_connect(connector: &TlsConnector, addr: SocketAddr) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.expect("TLS handshake")
}

/// The leaf certificate a fresh connection is served.
pub async fn served_certificate(connector: &TlsConnector, addr: SocketAddr) -> Vec<u8> {
    let tls = tls_connect(connector, addr).await;
    let (_, session) = tls.get_ref();
    session.peer_certificates().expect("peer certs")[0].to_vec()
}

/// An HTTP/1.1 client on one kept-alive TLS connection.
pub struct Http1 {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Http1 {
    pub async fn connect(connector: &TlsConnector, addr: SocketAddr) -> Http1 {
        let tls = tls_connect(connector, addr).await;
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        assert!(
            alpn.is_none() || alpn.as_deref() == Some(HTTP11),
            "ALPN {alpn:?}"
        );
        Http1::over(TokioIo::new(tls)).await
    }

    /// Plain HTTP (the admin port).
    pub async fn plain(addr: SocketAddr) -> Http1 {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        Http1::over(TokioIo::new(tcp)).await
    }

    async fn over<T>(io: T) -> Http1
    where
        T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .expect("http1 handshake");
        tokio::spawn(conn);
        Http1 { sender }
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> hyper::Result<(StatusCode, Vec<u8>)> {
        self.sender.ready().await?;
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body.to_vec()))
    }

    pub async fn post_json(&mut self, path: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        self.send("POST", path, "application/json", body)
            .await
            .expect("request")
    }

    pub async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let (status, body) = self.send("GET", path, "", Vec::new()).await.expect("GET");
        (status, String::from_utf8(body).unwrap())
    }
}

/// GET on the admin port over a fresh connection.
pub async fn admin_get(addr: SocketAddr, path: &str) -> (StatusCode, String) {
    Http1::plain(addr).await.get(path).await
}

/// One raw HTTP/1.1 request (`connection: close`): the head, then the body in `parts`, each
/// part sent once `gate` lets it (write errors ignored: the server may answer early). Returns
/// the status code, or 0 when there was no parsable answer.
pub async fn raw_request(
    connector: &TlsConnector,
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    parts: Vec<Vec<u8>>,
    mut gate: Option<tokio::sync::watch::Receiver<bool>>,
) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let length: usize = parts.iter().map(Vec::len).sum();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: {content_type}\r\n\
         content-length: {length}\r\nconnection: close\r\n\r\n"
    );
    let mut stream = tls_connect(connector, addr).await;
    let mut ok = stream.write_all(head.as_bytes()).await.is_ok();
    for (i, part) in parts.iter().enumerate() {
        if let (true, Some(gate)) = (i > 0, gate.as_mut()) {
            let _ = gate.wait_for(|open| *open).await;
        }
        ok = ok && stream.write_all(part).await.is_ok() && stream.flush().await.is_ok();
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
