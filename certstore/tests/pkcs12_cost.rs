//! The PKCS#12 iteration cap holds for every file OpenSSL would accept (issue 14, item 3).
//!
//! OpenSSL ignores bytes after an encoded structure and reads BER; an outline parser that
//! skipped such a structure missed its iteration counts. These files are made by DER
//! surgery on a file OpenSSL wrote: the shrouded key's PBKDF2 iteration count raised to
//! 20,000,000, trailing bytes or an indefinite length put into one nested structure, and
//! the MAC recomputed so that OpenSSL would accept the file and spend seconds deriving
//! the key. Each must be refused before any derivation (well under 50 ms).

use std::time::{Duration, Instant};

use der::{Encode, Header, Length, Tag as DerTag};
use mdmkit_certstore::testing::TestIdentity;
use mdmkit_certstore::{check_pkcs12, Error, ImportLimits};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use x509_parser::der_parser::asn1_rs::{Any, FromDer, Tag};

const PASSWORD: &str = "pw";
/// The iteration count the base file is written with (key and content encryption), so
/// that the surgery finds it; the MAC uses another.
const BASE_ITERATIONS: u32 = 2047;
const MAC_ITERATIONS: u32 = 2048;
const HOSTILE_ITERATIONS: u64 = 20_000_000;

/// A DER element as a tree: constructed elements, and OCTET STRINGs that wrap one DER
/// SEQUENCE (PKCS#12's nested encodings), have children; `trailing` is put after them
/// inside the same element, and `indefinite` writes the element with an indefinite length.
#[derive(Clone, Debug)]
struct Node {
    identifier: u8,
    data: Vec<u8>,
    children: Option<Vec<Node>>,
    trailing: Vec<u8>,
    indefinite: bool,
}

impl Node {
    fn parse(bytes: &[u8]) -> Node {
        let (rest, any) = Any::from_der(bytes).expect("DER");
        assert!(rest.is_empty());
        Node::from_any(bytes[0], &any)
    }

    fn from_any(identifier: u8, any: &Any<'_>) -> Node {
        let children = if any.header.is_constructed() {
            Some(Node::list(any.data))
        } else if any.tag() == Tag::OctetString && wraps_sequence(any.data) {
            Some(vec![Node::parse(any.data)])
        } else {
            None
        };
        Node {
            identifier,
            data: any.data.to_vec(),
            children,
            trailing: Vec::new(),
            indefinite: false,
        }
    }

    fn list(mut data: &[u8]) -> Vec<Node> {
        let mut nodes = Vec::new();
        while !data.is_empty() {
            let (rest, any) = Any::from_der(data).expect("DER");
            nodes.push(Node::from_any(data[0], &any));
            data = rest;
        }
        nodes
    }

    fn content(&self) -> Vec<u8> {
        let mut content = match &self.children {
            Some(children) => children.iter().flat_map(Node::encode).collect(),
            None => self.data.clone(),
        };
        content.extend_from_slice(&self.trailing);
        content
    }

    fn encode(&self) -> Vec<u8> {
        let content = self.content();
        if self.indefinite {
            // BER's indefinite form: 0x80, the content, end-of-contents.
            let mut out = vec![self.identifier, 0x80];
            out.extend_from_slice(&content);
            out.extend_from_slice(&[0, 0]);
            return out;
        }
        let tag = <DerTag as der::Decode>::from_der(&[self.identifier]).expect("low tag number");
        let length = Length::try_from(content.len()).expect("length");
        let mut out = Header::new(tag, length).to_der().expect("header");
        out.extend_from_slice(&content);
        out
    }

    /// Every node in pre-order, with its path of child indexes.
    fn paths(&self, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        out.push(path.clone());
        if let Some(children) = &self.children {
            for (index, child) in children.iter().enumerate() {
                path.push(index);
                child.paths(path, out);
                path.pop();
            }
        }
    }

    fn at(&mut self, path: &[usize]) -> &mut Node {
        match path.split_first() {
            None => self,
            Some((first, rest)) => self.children.as_mut().unwrap()[*first].at(rest),
        }
    }

    /// Sets every INTEGER equal to `from` to `to`.
    fn replace_integer(&mut self, from: u64, to: u64) {
        if self.identifier == 0x02 && self.children.is_none() && integer(&self.data) == from {
            self.data = integer_bytes(to);
        }
        if let Some(children) = &mut self.children {
            for child in children {
                child.replace_integer(from, to);
            }
        }
    }
}

fn wraps_sequence(data: &[u8]) -> bool {
    data.first() == Some(&0x30) && matches!(Any::from_der(data), Ok((rest, _)) if rest.is_empty())
}

fn integer(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b))
}

fn integer_bytes(value: u64) -> Vec<u8> {
    let mut bytes: Vec<u8> = value
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    if bytes.first().is_none_or(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    bytes
}

/// The PKCS#12 key derivation (RFC 7292, appendix B.2) for one SHA-256 block: the MAC
/// key (ID 3) of `password` (BMPString with its NUL terminator).
fn pkcs12_mac_key(password: &str, salt: &[u8], iterations: u64) -> Vec<u8> {
    const V: usize = 64;
    let mut bmp: Vec<u8> = password
        .encode_utf16()
        .chain([0])
        .flat_map(u16::to_be_bytes)
        .collect();
    let stretch = |bytes: &[u8]| -> Vec<u8> {
        if bytes.is_empty() {
            return Vec::new();
        }
        let size = V * bytes.len().div_ceil(V);
        bytes.iter().copied().cycle().take(size).collect()
    };
    let mut input = vec![3u8; V];
    input.extend(stretch(salt));
    input.append(&mut stretch(&bmp));
    bmp.clear();
    let mut block = openssl::sha::sha256(&input).to_vec();
    for _ in 1..iterations {
        block = openssl::sha::sha256(&block).to_vec();
    }
    block
}

/// Recomputes the MAC (HMAC-SHA-256 over the AuthenticatedSafe's content) after surgery.
fn recompute_mac(pfx: &mut Node) {
    let auth_safe = pfx.at(&[1, 1, 0]).content();
    let mac_data = pfx.at(&[2]).clone();
    let children = mac_data.children.as_ref().unwrap();
    let salt = children[1].data.clone();
    let iterations = integer(&children[2].data);
    let key = pkcs12_mac_key(PASSWORD, &salt, iterations);
    let key = PKey::hmac(&key).unwrap();
    let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
    signer.update(&auth_safe).unwrap();
    let digest = signer.sign_to_vec().unwrap();
    pfx.at(&[2, 0, 1]).data = digest;
}

/// A modern file (AES-256-CBC, PBKDF2, SHA-256 MAC) as OpenSSL writes it.
fn base_file() -> Vec<u8> {
    let identity = TestIdentity::for_email("cost@example.com");
    let mut builder = Pkcs12::builder();
    builder
        .pkey(&identity.key)
        .cert(&identity.certificate)
        .key_algorithm(Nid::AES_256_CBC)
        .cert_algorithm(Nid::AES_256_CBC)
        .key_iter(BASE_ITERATIONS)
        .mac_iter(MAC_ITERATIONS)
        .mac_md(MessageDigest::sha256());
    builder.build2(PASSWORD).unwrap().to_der().unwrap()
}

/// The path of the OCTET STRING holding the SafeContents with the shrouded key: the
/// second ContentInfo of the AuthenticatedSafe (OpenSSL writes the certificates first).
fn key_safe_contents_path(pfx: &Node) -> Vec<usize> {
    let mut pfx = pfx.clone();
    let auth_safe = pfx.at(&[1, 1, 0, 0]).clone();
    let count = auth_safe.children.as_ref().unwrap().len();
    let path = vec![1, 1, 0, 0, count - 1, 1, 0];
    assert_eq!(
        pfx.at(&path).identifier,
        0x04,
        "the data ContentInfo's OCTET STRING"
    );
    path
}

fn refused_fast(file: &[u8], what: &str) {
    let started = Instant::now();
    let result = check_pkcs12(
        file,
        Some(PASSWORD),
        &ImportLimits::default(),
        time::OffsetDateTime::now_utc(),
    );
    let elapsed = started.elapsed();
    match result {
        Err(Error::NotPkcs12 | Error::TooManyIterations { .. }) => {}
        Err(other) => panic!("{what}: refused late ({}: {other})", other.code()),
        Ok(_) => panic!("{what}: accepted"),
    }
    assert!(
        elapsed < Duration::from_millis(50),
        "{what}: took {elapsed:?} (a key was derived)"
    );
}

#[test]
fn the_surgery_makes_files_openssl_accepts() {
    // The file without the hostile count: one byte after the SafeContents, MAC
    // recomputed. OpenSSL opens it (it ignores the byte), so the same file with 20,000,000
    // iterations would make it derive the key.
    let mut pfx = Node::parse(&base_file());
    let path = key_safe_contents_path(&pfx);
    pfx.at(&path).trailing = vec![0];
    recompute_mac(&mut pfx);
    let file = pfx.encode();
    mdmkit_core::openssl_legacy::load_legacy_provider();
    let parsed = Pkcs12::from_der(&file).unwrap().parse2(PASSWORD).unwrap();
    assert!(parsed.pkey.is_some(), "OpenSSL ignores the trailing byte");
}

#[test]
fn a_trailing_byte_after_the_safe_contents_does_not_hide_20m_iterations() {
    let mut pfx = Node::parse(&base_file());
    let path = key_safe_contents_path(&pfx);
    // Only the shrouded key's count: the content encryption stays ordinary.
    pfx.at(&path)
        .replace_integer(u64::from(BASE_ITERATIONS), HOSTILE_ITERATIONS);
    pfx.at(&path).trailing = vec![0];
    recompute_mac(&mut pfx);
    refused_fast(&pfx.encode(), "one byte after the SafeContents");
}

#[test]
fn trailing_bytes_and_indefinite_lengths_in_every_nested_structure_are_refused() {
    let mut base = Node::parse(&base_file());
    let key_path = key_safe_contents_path(&base);
    base.at(&key_path)
        .replace_integer(u64::from(BASE_ITERATIONS), HOSTILE_ITERATIONS);
    let mut paths = Vec::new();
    base.paths(&mut Vec::new(), &mut paths);
    let mut cases = 0;
    for path in &paths {
        if base.clone().at(path).children.is_none() {
            continue;
        }
        // A stray byte, a whole extra element (NULL), and an indefinite length.
        for variant in 0..3 {
            let mut pfx = base.clone();
            let node = pfx.at(path);
            match variant {
                0 => node.trailing = vec![0],
                1 => node.trailing = vec![0x05, 0x00],
                _ => {
                    if node.identifier & 0x20 == 0 {
                        continue; // a primitive OCTET STRING has no indefinite form
                    }
                    node.indefinite = true;
                }
            }
            if path.is_empty() && variant < 2 {
                // After the PFX itself: the bytes follow the file's one element.
                let mut file = base.encode();
                file.extend_from_slice(&node.trailing.clone());
                refused_fast(&file, "bytes after the PFX");
                cases += 1;
                continue;
            }
            recompute_mac(&mut pfx);
            refused_fast(&pfx.encode(), &format!("variant {variant} at {path:?}"));
            cases += 1;
        }
    }
    assert!(cases > 40, "only {cases} cases");
}
