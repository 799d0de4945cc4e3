//! Corpus-driven fuzzing of every decoder that reads untrusted bytes (no nightly here, so
//! no cargo-fuzz): each target runs every file of its committed corpus
//! (`tests/fuzz/corpus/<target>/`, seeds from real devices and tools) and then
//! proptest-generated mutations of them (bit flips, insertions of syntax tokens, deletions,
//! truncations, duplicated chunks). A decoder must never panic and must answer a typed
//! error with a code.
//!
//! `MDMKIT_FUZZ_CASES` sets the mutations per target (default 5,000: a few seconds in CI);
//! raise it for a longer local run.

use std::path::PathBuf;

use mdmkit_certstore::{check_pkcs12, ImportLimits};
use mdmkit_core::engine::Action;
use mdmkit_core::profile::Profile;
use mdmkit_core::{Checkin, CommandResult, DecodeLimits};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "corpus {target} has {} files",
        files.len()
    );
    files
}

fn cases() -> u32 {
    std::env::var("MDMKIT_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000)
}

/// Tokens that steer mutations into the parsers' interesting paths.
const TOKENS: &[&[u8]] = &[
    b"<dict>",
    b"</dict>",
    b"<key>",
    b"</key>",
    b"<array>",
    b"<integer>18446744073709551616</integer>",
    b"<data>!!</data>",
    b"<real>nan</real>",
    b"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>",
    b"&e;",
    b"bplist00",
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\\u0000",
    b"\\ud800",
    b"1e999",
    b"\x30\x80",
    b"\x00\x00",
    b"\x02\x04\x7f\xff\xff\xff",
    b"\xff\xff\xff\xff",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Token(usize, usize),
    Delete(usize, usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Token(at, token)),
        (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Delete(at, len)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        let at = |i: usize| if len == 0 { 0 } else { i % (len + 1) };
        match *m {
            Mutation::Flip(i, bit) if len > 0 => bytes[i % len] ^= 1 << bit,
            Mutation::Insert(i, byte) => bytes.insert(at(i), byte),
            Mutation::Token(i, token) => {
                let i = at(i);
                bytes.splice(i..i, TOKENS[token].iter().copied());
            }
            Mutation::Delete(i, n) if len > 0 => {
                let start = i % len;
                bytes.drain(start..(start + n).min(len));
            }
            Mutation::Truncate(i) => bytes.truncate(at(i)),
            Mutation::Duplicate(i, n) if len > 0 => {
                let start = i % len;
                let chunk: Vec<u8> = bytes[start..(start + n).min(len)].to_vec();
                bytes.splice(start..start, chunk);
            }
            _ => {}
        }
    }
    bytes
}

/// Runs `decode` on every corpus file, then on mutations of them.
fn fuzz(target: &str, decode: impl Fn(&str, &[u8]) -> Result<(), &'static str>) {
    let files = corpus(target);
    for (name, bytes) in &files {
        if let Err(code) = decode(name, bytes) {
            assert!(!code.is_empty(), "{target}/{name}: an error without a code");
        }
    }
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (0..files.len(), prop::collection::vec(mutation(), 1..6));
    runner
        .run(&strategy, |(index, mutations)| {
            let (name, seed) = &files[index];
            let input = mutate(seed.clone(), &mutations);
            if let Err(code) = decode(name, &input) {
                prop_assert!(!code.is_empty(), "an error without a code");
            }
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("fuzz target {target}: {failure}"));
}

#[test]
fn checkin_decode() {
    fuzz("checkin", |_, bytes| {
        Checkin::decode_with_limits(bytes, DecodeLimits::DEFAULT)
            .map(drop)
            .map_err(|e| e.code())
    });
}

#[test]
fn command_result_decode() {
    fuzz("command_result", |_, bytes| {
        for request_type in [
            None,
            Some("DeviceInformation"),
            Some("InstalledApplicationList"),
        ] {
            CommandResult::decode_with_limits(bytes, request_type, DecodeLimits::DEFAULT)
                .map(drop)
                .map_err(|e| e.code())?;
        }
        Ok(())
    });
}

#[test]
fn pkcs12_outline() {
    let now = time::OffsetDateTime::now_utc();
    fuzz("pkcs12", |_, bytes| {
        for password in [Some("pw"), None] {
            check_pkcs12(bytes, password, &ImportLimits::default(), now)
                .map(drop)
                .map_err(|e| e.code())?;
        }
        Ok(())
    });
}

#[test]
fn profile_read() {
    fuzz("profile", |_, bytes| {
        Profile::read_maybe_encrypted(bytes)
            .map(drop)
            .map_err(|e| e.code())?;
        Profile::read(bytes).map(drop).map_err(|e| e.code())
    });
}

#[test]
fn admin_json_action_bodies() {
    fuzz("admin_json", |name, bytes| {
        // The file name says which action the body is for ("lock__1.json").
        let action = name.split("__").next().unwrap_or("lock");
        Action::parse(action, bytes).map(drop).map_err(|e| e.code())
    });
}
