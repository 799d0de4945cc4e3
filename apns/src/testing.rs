//! A throw-away certificate authority for tests, examples and benchmarks (feature `testing`).
//!
//! It issues push-like certificates (with or without a `UID`), MDM vendor certificates and
//! intermediates, so that tests never depend on Apple-issued files. Test code only: the
//! functions panic on OpenSSL failures instead of returning errors.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::x509::extension::BasicConstraints;
use openssl::x509::{X509Name, X509NameBuilder, X509};
use time::OffsetDateTime;

use crate::key::PrivateKey;

/// A certificate authority with its key.
#[derive(Debug)]
pub struct TestCa {
    certificate: X509,
    key: PrivateKey,
}

impl TestCa {
    /// A new self-signed root CA with the given common name, valid for ten years.
    pub fn new(common_name: &str) -> Self {
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let name = name(&[(Nid::COMMONNAME, common_name)]);
        let now = OffsetDateTime::now_utc();
        let certificate = build(
            &name,
            &name,
            key.pkey(),
            &key,
            now - time::Duration::days(1),
            now + time::Duration::days(3650),
            true,
        );
        Self { certificate, key }
    }

    /// A CA issued by this one (for example an Apple WWDR-like intermediate).
    pub fn issue_intermediate(&self, common_name: &str) -> TestCa {
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let now = OffsetDateTime::now_utc();
        let certificate = build(
            &name(&[(Nid::COMMONNAME, common_name)]),
            self.certificate.subject_name(),
            key.pkey(),
            &self.key,
            now - time::Duration::days(1),
            now + time::Duration::days(3650),
            true,
        );
        TestCa { certificate, key }
    }

    /// A push-like certificate for `key`, valid until `not_after` (and from a year before),
    /// with `UID=topic` in its subject when `topic` is given. Returns DER.
    pub fn issue_push_cert(
        &self,
        topic: Option<&str>,
        key: &PrivateKey,
        not_after: OffsetDateTime,
    ) -> Vec<u8> {
        let mut entries = vec![
            (Nid::COUNTRYNAME, "US"),
            (Nid::COMMONNAME, "APSP:11111111-2222-3333-4444-555555555555"),
        ];
        if let Some(topic) = topic {
            entries.push((Nid::USERID, topic));
        }
        self.issue(&name(&entries), key, not_after)
    }

    /// A push-like certificate for the public key of a CSR (as Apple's portal issues one),
    /// valid until `not_after`. Returns DER.
    pub fn issue_push_cert_for_request(
        &self,
        topic: &str,
        request: &crate::CertificateRequest,
        not_after: OffsetDateTime,
    ) -> Vec<u8> {
        let public = openssl::x509::X509Req::from_der(request.der())
            .unwrap()
            .public_key()
            .unwrap();
        let subject = name(&[
            (Nid::COUNTRYNAME, "US"),
            (Nid::COMMONNAME, "APSP:11111111-2222-3333-4444-555555555555"),
            (Nid::USERID, topic),
        ]);
        let not_before = not_after - time::Duration::days(365);
        build(
            &subject,
            self.certificate.subject_name(),
            &public,
            &self.key,
            not_before,
            not_after,
            false,
        )
        .to_der()
        .unwrap()
    }

    /// A leaf certificate (for example an MDM vendor certificate) with the given common name
    /// for `key`, valid until `not_after`. Returns DER.
    pub fn issue_leaf(
        &self,
        common_name: &str,
        key: &PrivateKey,
        not_after: OffsetDateTime,
    ) -> Vec<u8> {
        self.issue(&name(&[(Nid::COMMONNAME, common_name)]), key, not_after)
    }

    fn issue(&self, subject: &X509Name, key: &PrivateKey, not_after: OffsetDateTime) -> Vec<u8> {
        let not_before = not_after - time::Duration::days(365);
        build(
            subject,
            self.certificate.subject_name(),
            key.pkey(),
            &self.key,
            not_before,
            not_after,
            false,
        )
        .to_der()
        .unwrap()
    }

    /// This CA's certificate in PEM.
    pub fn certificate_pem(&self) -> Vec<u8> {
        self.certificate.to_pem().unwrap()
    }

    /// This CA's certificate in DER.
    pub fn certificate_der(&self) -> Vec<u8> {
        self.certificate.to_der().unwrap()
    }

    /// This CA's private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// A DER certificate converted to PEM.
    pub fn pem_of(&self, der: &[u8]) -> Vec<u8> {
        X509::from_der(der).unwrap().to_pem().unwrap()
    }

    /// A PKCS#12 file holding `certificate` (DER) and `key`, protected by `password`.
    pub fn pkcs12(certificate: &[u8], key: &PrivateKey, password: &str) -> Vec<u8> {
        let certificate = X509::from_der(certificate).unwrap();
        let mut builder = Pkcs12::builder();
        builder.name("push").pkey(key.pkey()).cert(&certificate);
        builder.build2(password).unwrap().to_der().unwrap()
    }
}

fn name(entries: &[(Nid, &str)]) -> X509Name {
    let mut builder = X509NameBuilder::new().unwrap();
    for (nid, value) in entries {
        builder.append_entry_by_nid(*nid, value).unwrap();
    }
    builder.build()
}

fn build<T: openssl::pkey::HasPublic>(
    subject: &openssl::x509::X509NameRef,
    issuer: &openssl::x509::X509NameRef,
    key: &openssl::pkey::PKeyRef<T>,
    issuer_key: &PrivateKey,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    is_ca: bool,
) -> X509 {
    let mut builder = X509::builder().unwrap();
    builder.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    builder
        .set_serial_number(&Asn1Integer::from_bn(&serial).unwrap())
        .unwrap();
    builder.set_subject_name(subject).unwrap();
    builder.set_issuer_name(issuer).unwrap();
    builder.set_pubkey(key).unwrap();
    builder
        .set_not_before(&Asn1Time::from_unix(not_before.unix_timestamp()).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::from_unix(not_after.unix_timestamp()).unwrap())
        .unwrap();
    if is_ca {
        builder
            .append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
    }
    builder
        .sign(issuer_key.pkey(), MessageDigest::sha256())
        .unwrap();
    builder.build()
}

/// A message received by [`SmtpReceiver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent after `DATA` (headers and body, dot-unstuffed).
    pub data: String,
    /// Whether the message travelled inside TLS.
    pub over_tls: bool,
}

impl ReceivedMail {
    /// The message as text with any quoted-printable transfer encoding undone (soft line
    /// breaks joined, `=XX` escapes decoded).
    pub fn decoded(&self) -> String {
        if !self
            .data
            .to_ascii_lowercase()
            .contains("content-transfer-encoding: quoted-printable")
        {
            return self.data.clone();
        }
        let joined = self.data.replace("=\r\n", "").replace("=\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (bytes[i], hex) {
                (b'=', Some(byte)) => {
                    out.push(byte);
                    i += 3;
                }
                (byte, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// How an [`SmtpReceiver`] protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP, no TLS offered.
    Plain,
    /// Plain SMTP offering STARTTLS.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Implicit,
}

/// A small SMTP server on 127.0.0.1 for tests: it accepts every message and records it.
///
/// With TLS it presents a certificate for `127.0.0.1` issued by its own CA
/// ([`ca_pem`](Self::ca_pem)).
#[derive(Debug)]
pub struct SmtpReceiver {
    port: u16,
    received: std::sync::Arc<std::sync::Mutex<Vec<ReceivedMail>>>,
    ca_pem: Vec<u8>,
}

impl SmtpReceiver {
    /// Starts a server on a free port of 127.0.0.1, serving connections on a thread.
    pub fn start(security: SmtpSecurity) -> Self {
        use openssl::ssl::{SslAcceptor, SslMethod};
        use openssl::x509::extension::SubjectAlternativeName;

        let ca = TestCa::new("Test SMTP CA");
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let now = OffsetDateTime::now_utc();
        let mut builder = X509::builder().unwrap();
        builder.set_version(2).unwrap();
        builder
            .set_subject_name(&name(&[(Nid::COMMONNAME, "127.0.0.1")]))
            .unwrap();
        builder
            .set_issuer_name(ca.certificate.subject_name())
            .unwrap();
        builder.set_pubkey(key.pkey()).unwrap();
        builder
            .set_not_before(&Asn1Time::from_unix(now.unix_timestamp() - 86_400).unwrap())
            .unwrap();
        builder
            .set_not_after(&Asn1Time::from_unix(now.unix_timestamp() + 86_400).unwrap())
            .unwrap();
        let san = SubjectAlternativeName::new()
            .ip("127.0.0.1")
            .dns("localhost")
            .build(&builder.x509v3_context(Some(&ca.certificate), None))
            .unwrap();
        builder.append_extension(san).unwrap();
        builder
            .sign(ca.key.pkey(), MessageDigest::sha256())
            .unwrap();
        let certificate = builder.build();
        let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
        acceptor.set_private_key(key.pkey()).unwrap();
        acceptor.set_certificate(&certificate).unwrap();
        acceptor
            .add_extra_chain_cert(ca.certificate.clone())
            .unwrap();
        let acceptor = std::sync::Arc::new(acceptor.build());

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let sink = sink.clone();
                let acceptor = acceptor.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, security, &acceptor, &sink);
                });
            }
        });
        Self {
            port,
            received,
            ca_pem: ca.certificate_pem(),
        }
    }

    /// The port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The PEM certificate of the CA that issued the server's TLS certificate.
    pub fn ca_pem(&self) -> &[u8] {
        &self.ca_pem
    }

    /// The messages received so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received.lock().unwrap().clone()
    }
}

fn serve(
    stream: std::net::TcpStream,
    security: SmtpSecurity,
    acceptor: &openssl::ssl::SslAcceptor,
    sink: &std::sync::Mutex<Vec<ReceivedMail>>,
) -> std::io::Result<()> {
    let to_io =
        |e: openssl::ssl::HandshakeError<std::net::TcpStream>| std::io::Error::other(e.to_string());
    match security {
        SmtpSecurity::Implicit => {
            let tls = acceptor.accept(stream).map_err(to_io)?;
            converse(tls, true, false, true, sink).map(|_| ())
        }
        SmtpSecurity::Plain => converse(stream, false, false, true, sink).map(|_| ()),
        SmtpSecurity::StartTls => {
            if let Some(stream) = converse(stream, false, true, true, sink)? {
                let tls = acceptor.accept(stream).map_err(to_io)?;
                converse(tls, true, false, false, sink)?;
            }
            Ok(())
        }
    }
}

/// Speaks SMTP until QUIT (returns `None`) or STARTTLS (returns the stream to wrap).
fn converse<S: std::io::Read + std::io::Write>(
    stream: S,
    over_tls: bool,
    offer_starttls: bool,
    greet: bool,
    sink: &std::sync::Mutex<Vec<ReceivedMail>>,
) -> std::io::Result<Option<S>> {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(stream);
    // After STARTTLS the client speaks first (EHLO); a new connection gets a greeting.
    if greet {
        reader
            .get_mut()
            .write_all(b"220 127.0.0.1 ESMTP test\r\n")?;
    }
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            if offer_starttls {
                b"250-127.0.0.1\r\n250 STARTTLS\r\n"
            } else {
                b"250-127.0.0.1\r\n250 8BITMIME\r\n"
            }
        } else if upper == "STARTTLS" && offer_starttls {
            reader.get_mut().write_all(b"220 go ahead\r\n")?;
            return Ok(Some(reader.into_inner()));
        } else if upper.starts_with("MAIL FROM:") {
            from = address_in(&command);
            to.clear();
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address_in(&command));
            b"250 ok\r\n"
        } else if upper == "DATA" {
            reader.get_mut().write_all(b"354 end with .\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(None);
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            sink.lock().unwrap().push(ReceivedMail {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
                over_tls,
            });
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            reader.get_mut().write_all(b"221 bye\r\n")?;
            return Ok(None);
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 ok\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        reader.get_mut().write_all(reply)?;
        reader.get_mut().flush()?;
    }
}

fn address_in(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..]
        .find('>')
        .map_or(command.len(), |i| start + i);
    command[start..end].to_owned()
}
