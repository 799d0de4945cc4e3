//! TLS terminated by `mdmkit serve` itself (OpenSSL): a device's client certificate is
//! asked for, not required, and passed to the engine, which checks it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use mdmkit_core::Secret;
use openssl::pkey::PKey;
use openssl::ssl::{Ssl, SslAcceptor, SslMethod, SslVerifyMode, SslVersion};
use openssl::x509::X509;
use tokio_openssl::SslStream;
use tower::ServiceExt;

use crate::{Error, PeerCertificate, Result};

/// An acceptor for the server's chain and key: TLS 1.2 or later, client certificates
/// requested but not required, and not checked here (the engine checks a certificate
/// against the device CAs and the enrollment it is bound to).
pub(crate) fn acceptor(chain_pem: &[u8], key_pem: &Secret) -> Result<SslAcceptor> {
    let tls = |e: openssl::error::ErrorStack| Error::Tls(e.to_string());
    let mut chain = X509::stack_from_pem(chain_pem)
        .map_err(|e| Error::Tls(format!("the server certificate is not PEM: {e}")))?
        .into_iter();
    let leaf = chain
        .next()
        .ok_or_else(|| Error::Tls("the server certificate file holds no certificate".into()))?;
    let key = PKey::private_key_from_pem(key_pem.expose())
        .map_err(|e| Error::Tls(format!("the server key is not a PEM private key: {e}")))?;
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(tls)?;
    builder
        .set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(tls)?;
    builder.set_certificate(&leaf).map_err(tls)?;
    for intermediate in chain {
        builder.add_extra_chain_cert(intermediate).map_err(tls)?;
    }
    builder.set_private_key(&key).map_err(tls)?;
    builder
        .check_private_key()
        .map_err(|_| Error::Tls("the server key does not match its certificate".into()))?;
    // PEER without FAIL_IF_NO_PEER_CERT: ask, do not require. The callback accepts any
    // certificate: the engine verifies it against the device CAs, and a browser or a
    // device without one still reaches /enroll.
    builder.set_verify_callback(SslVerifyMode::PEER, |_, _| true);
    builder.set_alpn_select_callback(|_, client| {
        openssl::ssl::select_next_proto(b"\x08http/1.1", client)
            .ok_or(openssl::ssl::AlpnError::NOACK)
    });
    Ok(builder.build())
}

/// Accepts TLS connections until `stop`, then waits for the requests in flight.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: SslAcceptor,
    router: Router,
    stop: impl Future<Output = ()>,
) -> Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let ssl = match Ssl::new(acceptor.context()) {
            Ok(ssl) => ssl,
            Err(error) => {
                tracing::error!(%error, "TLS session could not be made");
                continue;
            }
        };
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Ok(mut stream) = SslStream::new(ssl, tcp) else {
                return;
            };
            if let Err(error) = Pin::new(&mut stream).accept().await {
                tracing::debug!(%peer, %error, "TLS handshake failed");
                return;
            }
            let certificate = stream
                .ssl()
                .peer_certificate()
                .and_then(|certificate| certificate.to_der().ok());
            let service =
                tower::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let mut request = request.map(axum::body::Body::new);
                    request
                        .extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(peer));
                    if let Some(der) = &certificate {
                        request
                            .extensions_mut()
                            .insert(PeerCertificate(der.clone()));
                    }
                    router.clone().oneshot(request)
                });
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
    Ok(())
}
