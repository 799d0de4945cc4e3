//! TLS + HTTP/2 connections to APNs, kept in a small pool.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslMode, SslOptions, SslVerifyMode, SslVersion,
};
use openssl::x509::verify::X509CheckFlags;
use openssl::x509::X509;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_openssl::SslStream;

use super::{ClientIdentity, Endpoint};
use crate::Error;

/// The read buffer under the TLS stream, in bytes: two full TLS records.
const READ_BUFFER: usize = 32 * 1024;

/// Opens connections: TCP, TLS with the client certificate and ALPN `h2`, HTTP/2 handshake.
pub(crate) struct Connector {
    tls: SslContext,
    endpoint: Endpoint,
    connect_timeout: Duration,
    ping_interval: Option<Duration>,
}

impl Connector {
    pub(crate) fn new(
        endpoint: Endpoint,
        identity: &ClientIdentity,
        server_ca_pem: Option<&[u8]>,
        connect_timeout: Duration,
        ping_interval: Option<Duration>,
    ) -> Result<Self, Error> {
        let tls_error = |e: openssl::error::ErrorStack| Error::Tls(e.to_string());
        // openssl's SslConnector, minus SSL_MODE_RELEASE_BUFFERS (which it sets and no safe
        // call clears): with it OpenSSL frees its 16 KiB read buffer whenever it is empty
        // and allocates it again for the next record, nearly once per push under load.
        // The hostname is verified in `connect_inner`.
        let mut builder = SslContextBuilder::new(SslMethod::tls_client()).map_err(tls_error)?;
        builder.set_options(
            SslOptions::ALL
                | SslOptions::NO_COMPRESSION
                | SslOptions::NO_SSLV2
                | SslOptions::NO_SSLV3,
        );
        builder.clear_options(SslOptions::DONT_INSERT_EMPTY_FRAGMENTS);
        builder.set_mode(
            SslMode::AUTO_RETRY
                | SslMode::ACCEPT_MOVING_WRITE_BUFFER
                | SslMode::ENABLE_PARTIAL_WRITE,
        );
        // APNs speaks TLS 1.2 and later.
        builder
            .set_min_proto_version(Some(SslVersion::TLS1_2))
            .map_err(tls_error)?;
        builder
            .set_cipher_list(
                "DEFAULT:!aNULL:!eNULL:!MD5:!3DES:!DES:!RC4:!IDEA:!SEED:!aDSS:!SRP:!PSK",
            )
            .map_err(tls_error)?;
        builder.set_default_verify_paths().map_err(tls_error)?;
        builder
            .set_certificate(&identity.certificate)
            .map_err(tls_error)?;
        builder.set_private_key(&identity.key).map_err(tls_error)?;
        builder.check_private_key().map_err(tls_error)?;
        builder.set_alpn_protos(b"\x02h2").map_err(tls_error)?;
        builder.set_verify(SslVerifyMode::PEER);
        if let Some(pem) = server_ca_pem {
            let cas = X509::stack_from_pem(pem)
                .map_err(|e| Error::InvalidIdentity(format!("server CA: {e}")))?;
            if cas.is_empty() {
                return Err(Error::InvalidIdentity(
                    "server CA: no certificate in the file".into(),
                ));
            }
            for ca in cas {
                builder.cert_store_mut().add_cert(ca).map_err(tls_error)?;
            }
        }
        Ok(Self {
            tls: builder.build(),
            endpoint,
            connect_timeout,
            ping_interval,
        })
    }

    /// A TLS session for `host`: SNI for a name, and the server certificate checked
    /// against the name or IP address (no partial wildcards).
    fn ssl_for(&self, host: &str) -> Result<Ssl, openssl::error::ErrorStack> {
        let mut ssl = Ssl::new(&self.tls)?;
        match host.parse::<std::net::IpAddr>() {
            Ok(ip) => ssl.param_mut().set_ip(ip)?,
            Err(_) => {
                ssl.set_hostname(host)?;
                ssl.param_mut().set_host(host)?;
            }
        }
        ssl.param_mut()
            .set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
        Ok(ssl)
    }

    async fn connect(&self) -> Result<Connection, Error> {
        tokio::time::timeout(self.connect_timeout, self.connect_inner())
            .await
            .map_err(|_| Error::Connection("timed out while connecting".into()))?
    }

    async fn connect_inner(&self) -> Result<Connection, Error> {
        let host = self.endpoint.host();
        let tcp = TcpStream::connect((host, self.endpoint.port()))
            .await
            .map_err(|e| Error::Connection(format!("{}: {e}", self.endpoint.authority())))?;
        let _ = tcp.set_nodelay(true);
        let ssl = self.ssl_for(host).map_err(|e| Error::Tls(e.to_string()))?;
        // OpenSSL reads each TLS record's 5-byte header, then its body: two system calls
        // per record, and a busy server sends many small records. A buffer under the TLS
        // stream takes all that the socket holds in one call (writes pass straight through).
        let tcp = tokio::io::BufReader::with_capacity(READ_BUFFER, tcp);
        let mut stream = SslStream::new(ssl, tcp).map_err(|e| Error::Tls(e.to_string()))?;
        Pin::new(&mut stream)
            .connect()
            .await
            .map_err(|e| Error::Tls(e.to_string()))?;
        if stream.ssl().selected_alpn_protocol() != Some(b"h2") {
            return Err(Error::Http2(
                "the server did not negotiate h2 (ALPN)".into(),
            ));
        }
        let (sender, mut connection) = h2::client::Builder::new()
            .initial_window_size(1 << 20)
            .initial_connection_window_size(1 << 24)
            .handshake::<_, Bytes>(stream)
            .await
            .map_err(|e| Error::Http2(e.to_string()))?;
        let closed = Arc::new(AtomicBool::new(false));
        let ping_pong = connection.ping_pong();
        let driver = tokio::spawn({
            let closed = closed.clone();
            async move {
                let _ = connection.await;
                closed.store(true, Ordering::Release);
            }
        });
        let Some(mut ping_pong) = ping_pong else {
            driver.abort();
            return Err(Error::Http2("no PING handle on a new connection".into()));
        };
        // The server's SETTINGS (its stream limit above all) come before its answer to a
        // PING: wait for that answer, so the first pushes already respect the limit.
        if let Err(error) = ping_pong.ping(h2::Ping::opaque()).await {
            driver.abort();
            return Err(Error::Http2(format!(
                "no answer to the first PING: {error}"
            )));
        }
        if let Some(interval) = self.ping_interval {
            let closed = closed.clone();
            let abort = driver.abort_handle();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(interval).await;
                    if closed.load(Ordering::Acquire) {
                        return;
                    }
                    let pong =
                        tokio::time::timeout(interval, ping_pong.ping(h2::Ping::opaque())).await;
                    if !matches!(pong, Ok(Ok(_))) {
                        // A peer that does not answer PINGs is gone: drop the connection
                        // so in-flight pushes fail over to a new one.
                        closed.store(true, Ordering::Release);
                        abort.abort();
                        return;
                    }
                }
            });
        }
        static GENERATION: AtomicU64 = AtomicU64::new(1);
        Ok(Connection {
            sender,
            closed,
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
        })
    }
}

/// One open HTTP/2 connection.
#[derive(Clone)]
pub(crate) struct Connection {
    pub(crate) sender: SendRequest<Bytes>,
    closed: Arc<AtomicBool>,
    pub(crate) generation: u64,
}

/// A fixed number of connection slots, each reconnected on demand.
pub(crate) struct Pool {
    connector: Connector,
    slots: Vec<Slot>,
    next: AtomicUsize,
}

struct Slot {
    /// The live connection; a plain mutex held only to clone or replace it.
    current: std::sync::Mutex<Option<Connection>>,
    /// Held while connecting, so that one task connects and the others wait for it; holds
    /// the last attempt's error.
    connecting: Mutex<Option<String>>,
    /// Connection attempts started so far.
    attempts: AtomicU64,
}

impl Slot {
    fn live(&self) -> Option<Connection> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|c| !c.closed.load(Ordering::Acquire))
            .cloned()
    }
}

impl Pool {
    pub(crate) fn new(connector: Connector, size: usize) -> Self {
        Self {
            connector,
            slots: (0..size)
                .map(|_| Slot {
                    current: std::sync::Mutex::new(None),
                    connecting: Mutex::new(None),
                    attempts: AtomicU64::new(0),
                })
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// A live connection, opened if its slot has none. Returns the slot index too, to
    /// report a broken connection.
    pub(crate) async fn get(&self) -> Result<(usize, Connection), Error> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        if let Some(connection) = self.slots[index].live() {
            return Ok((index, connection));
        }
        // Boxed: the rare connecting path does not weigh on every push's future.
        Box::pin(self.reconnect(index)).await
    }

    /// Opens the connection of a slot that has none, or waits for the task opening it.
    async fn reconnect(&self, index: usize) -> Result<(usize, Connection), Error> {
        let slot = &self.slots[index];
        let attempts_seen = slot.attempts.load(Ordering::Acquire);
        let mut last_error = slot.connecting.lock().await;
        // Another task may have connected while this one waited; or failed to, and then
        // this task shares its error instead of trying again at once: a bulk push against
        // an unreachable server makes one attempt per retry round, not one per push.
        if let Some(connection) = slot.live() {
            return Ok((index, connection));
        }
        if slot.attempts.load(Ordering::Acquire) > attempts_seen {
            if let Some(error) = last_error.as_ref() {
                return Err(Error::Connection(error.clone()));
            }
        }
        slot.attempts.fetch_add(1, Ordering::AcqRel);
        match self.connector.connect().await {
            Ok(connection) => {
                *last_error = None;
                *slot.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(connection.clone());
                Ok((index, connection))
            }
            Err(error) => {
                *last_error = Some(error.to_string());
                Err(error)
            }
        }
    }

    /// Forgets a connection that failed (GOAWAY, reset, dropped), unless the slot already
    /// holds a newer one.
    pub(crate) fn discard(&self, index: usize, generation: u64) {
        let mut current = self.slots[index]
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if current.as_ref().map(|c| c.generation) == Some(generation) {
            if let Some(connection) = current.take() {
                connection.closed.store(true, Ordering::Release);
            }
        }
    }
}
