//! The client certificate from a reverse proxy's header, honoured only from trusted
//! proxy addresses.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;

use crate::PeerCertificate;

/// The proxies whose header is believed, and the header's name.
pub(crate) struct TrustedProxies {
    addresses: Vec<IpAddr>,
    header: HeaderName,
}

impl TrustedProxies {
    pub(crate) fn new(addresses: Vec<IpAddr>, header: &str) -> Self {
        let header = HeaderName::from_bytes(header.to_ascii_lowercase().as_bytes())
            .unwrap_or_else(|_| HeaderName::from_static(crate::DEFAULT_CLIENT_CERT_HEADER));
        Self { addresses, header }
    }

    fn trusts(&self, peer: Option<SocketAddr>) -> bool {
        peer.is_some_and(|peer| {
            let ip = match peer.ip() {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
                v4 => v4,
            };
            self.addresses.contains(&ip)
        })
    }
}

/// Takes the certificate header off every request; from a trusted proxy (and when TLS was
/// not terminated here) turns it into the request's [`PeerCertificate`].
pub(crate) async fn client_certificate_from_proxy(
    State(proxies): State<Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    let value = request.headers_mut().remove(&proxies.header);
    if let Some(value) = value {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| *address);
        if !proxies.trusts(peer) {
            tracing::warn!(
                peer = ?peer,
                header = %proxies.header,
                "client certificate header from an address that is not a trusted proxy: ignored"
            );
        } else if request.extensions().get::<PeerCertificate>().is_none() && !value.is_empty() {
            match decode(value.as_bytes()) {
                Some(der) => {
                    request.extensions_mut().insert(PeerCertificate(der));
                }
                None => tracing::warn!(
                    header = %proxies.header,
                    "client certificate header from the proxy is not a PEM certificate: ignored"
                ),
            }
        }
    }
    next.run(request).await
}

/// nginx's `$ssl_client_escaped_cert`: the PEM certificate, URL-encoded.
fn decode(value: &[u8]) -> Option<Vec<u8>> {
    let pem: Vec<u8> = percent_encoding::percent_decode(value).collect();
    openssl::x509::X509::from_pem(&pem).ok()?.to_der().ok()
}
