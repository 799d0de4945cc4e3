//! A loopback mock of the APNs HTTP/2 service (feature `mock`), for tests, benchmarks and
//! integrators testing their own push code (`mdmkit push mock-server`).
//!
//! It speaks h2 over TLS, verifies the client certificate against a CA (or lets it be
//! optional, for load generators such as h2load that cannot present one), announces
//! Apple's stream limit (1000), checks requests the way APNs does (method, path, token,
//! topic, payload size), answers as a [`Script`] says, and records what it received.

mod pki;
mod script;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use openssl::pkey::PKey;
use openssl::ssl::{self, AlpnError, Ssl, SslAcceptor, SslMethod, SslVerifyMode};
use openssl::x509::X509;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_openssl::SslStream;

pub use pki::TestPki;
pub use script::{Answer, ConnectionPlan, Script};

use crate::Error;

/// The largest payload APNs accepts for a notification, in bytes.
const MAX_PAYLOAD: usize = 4096;

/// Whether the mock requires a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientCertMode {
    /// A client certificate issued by the configured CA is required (like APNs).
    Required,
    /// A client certificate is verified when presented, but not required (for h2load).
    Optional,
}

/// The configuration of a [`MockServer`].
#[derive(Clone)]
#[non_exhaustive]
pub struct MockConfig {
    /// The address to listen on (default `127.0.0.1:0`, any free port).
    pub listen: SocketAddr,
    /// The server's certificate (PEM), for `127.0.0.1`/`localhost`.
    pub server_cert_pem: Vec<u8>,
    /// The server's private key (PEM).
    pub server_key_pem: Vec<u8>,
    /// The CA (PEM) that issued the client certificates.
    pub client_ca_pem: Option<Vec<u8>>,
    /// Whether a client certificate is required.
    pub client_cert: ClientCertMode,
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` for connections without their own plan (1000).
    pub max_concurrent_streams: u32,
    /// The answers and connection behaviours.
    pub script: Script,
    /// Whether to keep every received push for [`MockServer::received`] (default true).
    pub record: bool,
}

impl std::fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockConfig")
            .field("listen", &self.listen)
            .field("server_key_pem", &"<redacted>")
            .field("client_cert", &self.client_cert)
            .field("max_concurrent_streams", &self.max_concurrent_streams)
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

impl MockConfig {
    /// A configuration requiring client certificates issued by `client_ca_pem`.
    pub fn new(server_cert_pem: Vec<u8>, server_key_pem: Vec<u8>, client_ca_pem: Vec<u8>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            server_cert_pem,
            server_key_pem,
            client_ca_pem: Some(client_ca_pem),
            client_cert: ClientCertMode::Required,
            max_concurrent_streams: 1000,
            script: Script::default(),
            record: true,
        }
    }

    /// Listens on this address.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Sets whether client certificates are required.
    pub fn client_cert(mut self, mode: ClientCertMode) -> Self {
        self.client_cert = mode;
        self
    }

    /// Answers as this script says.
    pub fn script(mut self, script: Script) -> Self {
        self.script = script;
        self
    }

    /// Sets whether received pushes are kept.
    pub fn record(mut self, record: bool) -> Self {
        self.record = record;
        self
    }
}

/// One request the mock received, with its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedPush {
    /// The number of the connection it came on (1 for the first accepted).
    pub connection: u64,
    /// Whether that connection presented a verified client certificate.
    pub client_certificate: bool,
    /// The serial number of that certificate (upper-case hexadecimal, as
    /// [`PushCertificate::serial`](crate::PushCertificate::serial) spells it), so a test can
    /// tell which push certificate a push presented.
    pub client_serial: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// The request path (`/3/device/<hex token>`).
    pub path: String,
    /// The request headers (names lowercase), in order.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// The status answered.
    pub status: u16,
    /// The `apns-id` answered.
    pub apns_id: String,
}

impl ReceivedPush {
    /// The value of a header, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The device token of the path, if the path is `/3/device/<token>`.
    pub fn token_hex(&self) -> Option<&str> {
        self.path.strip_prefix("/3/device/")
    }
}

/// Counters of a running mock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MockStats {
    /// TLS connections accepted (handshake done).
    pub connections: u64,
    /// Streams accepted.
    pub streams: u64,
    /// Streams answered.
    pub answered: u64,
    /// The most streams seen in flight at once on one connection.
    pub max_in_flight: usize,
}

struct State {
    script: Mutex<Script>,
    received: Mutex<Vec<ReceivedPush>>,
    record: bool,
    max_concurrent_streams: u32,
    connections: AtomicU64,
    streams: AtomicU64,
    answered: AtomicU64,
    max_in_flight: AtomicUsize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running mock APNs server; it stops when dropped or [shut down](MockServer::shutdown).
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Binds the address and starts serving in the current tokio runtime.
    pub async fn start(config: MockConfig) -> Result<Self, Error> {
        let acceptor = Arc::new(build_acceptor(&config)?);
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| Error::Connection(format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Connection(e.to_string()))?;
        let state = Arc::new(State {
            script: Mutex::new(config.script),
            received: Mutex::new(Vec::new()),
            record: config.record,
            max_concurrent_streams: config.max_concurrent_streams,
            connections: AtomicU64::new(0),
            streams: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn({
            let state = state.clone();
            async move {
                let mut connections = tokio::task::JoinSet::new();
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            if let Ok((tcp, _)) = accepted {
                                connections.spawn(serve_connection(tcp, acceptor.clone(), state.clone()));
                            }
                        }
                        Some(_) = connections.join_next(), if !connections.is_empty() => {}
                    }
                }
            }
        });
        Ok(Self {
            addr,
            state,
            stop: Some(stop),
            task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its URL, `https://127.0.0.1:<port>`, for a custom client endpoint.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Every push received so far (when recording).
    pub fn received(&self) -> Vec<ReceivedPush> {
        lock(&self.state.received).clone()
    }

    /// The counters so far.
    pub fn stats(&self) -> MockStats {
        MockStats {
            connections: self.state.connections.load(Ordering::Relaxed),
            streams: self.state.streams.load(Ordering::Relaxed),
            answered: self.state.answered.load(Ordering::Relaxed),
            max_in_flight: self.state.max_in_flight.load(Ordering::Relaxed),
        }
    }

    /// Changes the script while running (for example to add answers for a token).
    pub fn update_script(&self, change: impl FnOnce(&mut Script)) {
        change(&mut lock(&self.state.script));
    }

    /// Stops accepting, closes every connection and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn build_acceptor(config: &MockConfig) -> Result<SslAcceptor, Error> {
    let tls = |e: openssl::error::ErrorStack| Error::Tls(e.to_string());
    let certificate = X509::from_pem(&config.server_cert_pem)
        .map_err(|e| Error::InvalidIdentity(format!("server certificate: {e}")))?;
    let key = PKey::private_key_from_pem(&config.server_key_pem)
        .map_err(|e| Error::InvalidIdentity(format!("server key: {e}")))?;
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(tls)?;
    builder.set_certificate(&certificate).map_err(tls)?;
    builder.set_private_key(&key).map_err(tls)?;
    builder
        .check_private_key()
        .map_err(|e| Error::InvalidIdentity(format!("server key: {e}")))?;
    builder.set_alpn_select_callback(|_, offered| {
        ssl::select_next_proto(b"\x02h2", offered).ok_or(AlpnError::ALERT_FATAL)
    });
    match &config.client_ca_pem {
        Some(pem) => {
            let cas = X509::stack_from_pem(pem)
                .map_err(|e| Error::InvalidIdentity(format!("client CA: {e}")))?;
            if cas.is_empty() {
                return Err(Error::InvalidIdentity("client CA: no certificate".into()));
            }
            for ca in cas {
                builder.cert_store_mut().add_cert(ca).map_err(tls)?;
            }
        }
        None if config.client_cert == ClientCertMode::Required => {
            return Err(Error::InvalidConfig(
                "a client CA is needed to require client certificates".into(),
            ))
        }
        None => {}
    }
    builder.set_verify(match config.client_cert {
        ClientCertMode::Required => SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
        ClientCertMode::Optional if config.client_ca_pem.is_some() => SslVerifyMode::PEER,
        ClientCertMode::Optional => SslVerifyMode::NONE,
    });
    Ok(builder.build())
}

async fn serve_connection(tcp: TcpStream, acceptor: Arc<SslAcceptor>, state: Arc<State>) {
    let _ = tcp.set_nodelay(true);
    let Ok(ssl) = Ssl::new(acceptor.context()) else {
        return;
    };
    let Ok(mut stream) = SslStream::new(ssl, tcp) else {
        return;
    };
    if Pin::new(&mut stream).accept().await.is_err() {
        return;
    }
    let peer = stream.ssl().peer_certificate();
    let client_certificate = peer.is_some();
    let client_serial: Option<Arc<str>> = peer
        .and_then(|certificate| certificate.to_der().ok())
        .and_then(|der| crate::push_cert::CertificateFields::read(&der, "client certificate").ok())
        .map(|fields| Arc::from(fields.serial));
    let number = state.connections.fetch_add(1, Ordering::Relaxed) + 1;
    let plan = lock(&state.script).next_connection();
    let mut builder = h2::server::Builder::new();
    builder
        .max_concurrent_streams(
            plan.max_concurrent_streams
                .unwrap_or(state.max_concurrent_streams),
        )
        .initial_window_size(1 << 20)
        .initial_connection_window_size(1 << 24);
    let Ok(mut connection) = builder.handshake::<_, Bytes>(stream).await else {
        return;
    };
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut accepted = 0u64;
    while let Some(next) = connection.accept().await {
        let Ok((request, respond)) = next else {
            break;
        };
        accepted += 1;
        state.streams.fetch_add(1, Ordering::Relaxed);
        if plan.drop_after == Some(accepted) {
            // Gone without a word: the client sees the connection end with this stream
            // and the ones in flight unanswered.
            return;
        }
        let now = in_flight.fetch_add(1, Ordering::AcqRel) + 1;
        state.max_in_flight.fetch_max(now, Ordering::AcqRel);
        tokio::spawn(serve_stream(
            request,
            respond,
            state.clone(),
            in_flight.clone(),
            number,
            client_certificate,
            client_serial.clone(),
        ));
        if plan.goaway_after == Some(accepted) {
            // Like APNs closing a connection: GOAWAY naming the last stream accepted; any
            // later stream is refused and the connection closes once the frame is out.
            connection.abrupt_shutdown(h2::Reason::NO_ERROR);
        }
    }
}

async fn serve_stream(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    state: Arc<State>,
    in_flight: Arc<AtomicUsize>,
    connection: u64,
    client_certificate: bool,
    client_serial: Option<Arc<str>>,
) {
    static APNS_IDS: AtomicU64 = AtomicU64::new(1);
    let (parts, mut body) = request.into_parts();
    let mut payload = Vec::new();
    while let Some(chunk) = body.data().await {
        let Ok(chunk) = chunk else {
            in_flight.fetch_sub(1, Ordering::AcqRel);
            return;
        };
        let _ = body.flow_control().release_capacity(chunk.len());
        if payload.len() <= MAX_PAYLOAD {
            payload.extend_from_slice(&chunk);
        }
    }
    let path = parts.uri.path().to_owned();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let token = path
        .strip_prefix("/3/device/")
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    // Checked in the order APNs documents them; the script decides only for a request
    // APNs itself would accept.
    let answer = if parts.method != http::Method::POST {
        Answer::error(405, "MethodNotAllowed")
    } else if !path.starts_with("/3/device/") {
        Answer::error(404, "BadPath")
    } else if token.is_empty() {
        Answer::error(400, "MissingDeviceToken")
    } else if !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        Answer::error(400, "BadDeviceToken")
    } else if header("apns-topic").is_none() {
        Answer::error(400, "MissingTopic")
    } else if header("apns-priority").is_some_and(|p| p != "10" && p != "5" && p != "1") {
        Answer::error(400, "BadPriority")
    } else if header("apns-expiration").is_some_and(|e| e.parse::<u64>().is_err()) {
        Answer::error(400, "BadExpirationDate")
    } else if payload.is_empty() {
        Answer::error(400, "PayloadEmpty")
    } else if payload.len() > MAX_PAYLOAD {
        Answer::error(413, "PayloadTooLarge")
    } else {
        lock(&state.script).next_answer(&token)
    };
    if answer.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(answer.delay_ms)).await;
    }
    let apns_id = header("apns-id").map(str::to_owned).unwrap_or_else(|| {
        let n = APNS_IDS.fetch_add(1, Ordering::Relaxed);
        format!("{connection:08X}-0000-4000-8000-{n:012X}")
    });
    if state.record {
        let received = ReceivedPush {
            connection,
            client_certificate,
            client_serial: client_serial.map(|serial| serial.to_string()),
            method: parts.method.to_string(),
            path: path.clone(),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            body: payload,
            status: answer.status,
            apns_id: apns_id.clone(),
        };
        lock(&state.received).push(received);
    }
    let mut response = http::Response::builder()
        .status(answer.status)
        .header("apns-id", apns_id);
    let error_body = answer.reason_text().map(|reason| {
        let mut json = serde_json::json!({ "reason": reason });
        if let Some(timestamp) = answer.timestamp {
            json["timestamp"] = timestamp.into();
        }
        Bytes::from(json.to_string())
    });
    if error_body.is_some() {
        response = response.header("content-type", "application/json");
    }
    if let Ok(response) = response.body(()) {
        if let Ok(mut send) = respond.send_response(response, error_body.is_none()) {
            if let Some(body) = error_body {
                let _ = send.send_data(body, true);
            }
        }
    }
    state.answered.fetch_add(1, Ordering::Relaxed);
    in_flight.fetch_sub(1, Ordering::AcqRel);
}
