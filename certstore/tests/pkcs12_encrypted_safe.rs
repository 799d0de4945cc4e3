//! The PKCS#12 iteration cap holds inside *encrypted* SafeContents (issue 14, item 3's
//! residue).
//!
//! A shrouded key bag inside an encryptedData safe shows its iteration count only after
//! decryption; OpenSSL decrypts and then derives the key with whatever count it finds. The
//! files here are built from their parts (the identity's key and certificate, encrypted
//! with OpenSSL's ciphers and PBKDF2 and the PKCS#12 derivation): the key bag sits in the
//! encrypted SafeContents (PBES2 with AES-256, the PKCS#12 3DES and RC2-40 schemes older
//! exporters such as macOS Keychain use, and others), the MAC is right. A hostile file
//! claims 20,000,000 iterations for the key (encrypted with fewer, as only the derivation
//! matters): it must be refused with the cap's error before OpenSSL parses it. The same
//! files with honest counts import, so the check really decrypts and reads them.

use der::{Encode, Header, Length, Tag as DerTag};
use mdmkit_certstore::testing::TestIdentity;
use mdmkit_certstore::{check_pkcs12, Error, ImportLimits};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use openssl::rand::rand_bytes;
use openssl::sign::Signer;
use openssl::symm::Cipher;
use pkcs12::kdf::{derive_key, Pkcs12KeyType};

const PASSWORD: &str = "pw";
const ITERATIONS: u64 = 2048;
const HOSTILE_ITERATIONS: u64 = 20_000_000;

// ---- DER, written with the `der` crate's headers ----

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let tag = <DerTag as der::Decode>::from_der(&[tag]).expect("low tag number");
    let mut out = Header::new(tag, Length::try_from(content.len()).unwrap())
        .to_der()
        .unwrap();
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}

fn oid(id: &str) -> Vec<u8> {
    der::asn1::ObjectIdentifier::new(id)
        .unwrap()
        .to_der()
        .unwrap()
}

fn octets(bytes: &[u8]) -> Vec<u8> {
    tlv(0x04, bytes)
}

fn int(value: u64) -> Vec<u8> {
    value.to_der().unwrap()
}

fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

fn explicit0(content: &[u8]) -> Vec<u8> {
    tlv(0xa0, content)
}

fn random(n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    rand_bytes(&mut bytes).unwrap();
    bytes
}

// ---- password-based encryption ----

/// A password-based encryption scheme, with the iteration count it claims and the one
/// the data is really encrypted with.
#[derive(Clone, Copy, Debug)]
enum Scheme {
    /// PBES2: PBKDF2 with HMAC-SHA-256, AES-256-CBC.
    Pbes2Aes256,
    /// PBES2: PBKDF2 with HMAC-SHA-1 (the default PRF), 3DES.
    Pbes2TripleDes,
    /// A PKCS#12 scheme (RFC 7292 appendix C) by its last OID arc.
    Pkcs12(u8),
    /// PKCS#5 v1: pbeWithSHA1AndDES-CBC.
    Pbes1Sha1Des,
}

const PKCS12_3DES: Scheme = Scheme::Pkcs12(3);
const PKCS12_2KEY_3DES: Scheme = Scheme::Pkcs12(4);
const PKCS12_RC2_128: Scheme = Scheme::Pkcs12(5);
const PKCS12_RC2_40: Scheme = Scheme::Pkcs12(6);
const PKCS12_RC4_128: Scheme = Scheme::Pkcs12(1);

/// How the password enters the derivations: OpenSSL's absent password is no bytes.
#[derive(Clone, Copy, Debug)]
enum Pass<'a> {
    Absent,
    Given(&'a str),
}

impl Pass<'_> {
    fn utf8(self) -> Vec<u8> {
        match self {
            Pass::Absent => Vec::new(),
            Pass::Given(p) => p.as_bytes().to_vec(),
        }
    }

    fn bmp(self) -> Vec<u8> {
        match self {
            Pass::Absent => Vec::new(),
            Pass::Given(p) => p
                .encode_utf16()
                .chain([0])
                .flat_map(u16::to_be_bytes)
                .collect(),
        }
    }
}

/// Encrypts `plain`; returns the AlgorithmIdentifier (claiming `claimed` iterations) and
/// the ciphertext (made with `real` iterations).
fn encrypt(
    scheme: Scheme,
    pass: Pass,
    claimed: u64,
    real: u64,
    plain: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let salt = random(8);
    let (algorithm, cipher, key, iv) = match scheme {
        Scheme::Pbes2Aes256 | Scheme::Pbes2TripleDes => {
            let (cipher, cipher_oid, prf) = match scheme {
                Scheme::Pbes2Aes256 => (
                    Cipher::aes_256_cbc(),
                    "2.16.840.1.101.3.4.1.42",
                    Some((MessageDigest::sha256(), "1.2.840.113549.2.9")),
                ),
                _ => (Cipher::des_ede3_cbc(), "1.2.840.113549.3.7", None),
            };
            let iv = random(cipher.iv_len().unwrap());
            let mut key = vec![0; cipher.key_len()];
            let digest = prf.map_or(MessageDigest::sha1(), |(digest, _)| digest);
            openssl::pkcs5::pbkdf2_hmac(&pass.utf8(), &salt, real as usize, digest, &mut key)
                .unwrap();
            let mut params = vec![octets(&salt), int(claimed)];
            if let Some((_, prf_oid)) = prf {
                params.push(seq(&[oid(prf_oid), null()]));
            }
            let algorithm = seq(&[
                oid("1.2.840.113549.1.5.13"),
                seq(&[
                    seq(&[oid("1.2.840.113549.1.5.12"), seq(&params)]),
                    seq(&[oid(cipher_oid), octets(&iv)]),
                ]),
            ]);
            (algorithm, cipher, key, Some(iv))
        }
        Scheme::Pkcs12(arc) => {
            let nid = match arc {
                1 => Nid::RC4,
                3 => Nid::DES_EDE3_CBC,
                4 => Nid::DES_EDE_CBC,
                5 => Nid::RC2_CBC,
                6 => Nid::RC2_40_CBC,
                _ => unreachable!("scheme {arc}"),
            };
            let cipher = Cipher::from_nid(nid).unwrap();
            let bmp = pass.bmp();
            let rounds = i32::try_from(real).unwrap();
            let key = derive_key::<sha1::Sha1>(
                &bmp,
                &salt,
                Pkcs12KeyType::EncryptionKey,
                rounds,
                cipher.key_len(),
            );
            let iv = cipher
                .iv_len()
                .map(|n| derive_key::<sha1::Sha1>(&bmp, &salt, Pkcs12KeyType::Iv, rounds, n));
            let algorithm = seq(&[
                oid(&format!("1.2.840.113549.1.12.1.{arc}")),
                seq(&[octets(&salt), int(claimed)]),
            ]);
            (algorithm, cipher, key, iv)
        }
        Scheme::Pbes1Sha1Des => {
            let cipher = Cipher::des_cbc();
            let pair = openssl::pkcs5::bytes_to_key(
                cipher,
                MessageDigest::sha1(),
                &pass.utf8(),
                Some(&salt),
                i32::try_from(real).unwrap(),
            )
            .unwrap();
            let algorithm = seq(&[
                oid("1.2.840.113549.1.5.10"),
                seq(&[octets(&salt), int(claimed)]),
            ]);
            (algorithm, cipher, pair.key, pair.iv)
        }
    };
    mdmkit_core::openssl_legacy::load_legacy_provider();
    let encrypted = openssl::symm::encrypt(cipher, &key, iv.as_deref(), plain).unwrap();
    (algorithm, encrypted)
}

// ---- bags and files ----

const LOCAL_KEY_ID: &str = "1.2.840.113549.1.9.21";

fn attributes() -> Vec<u8> {
    set(&[seq(&[oid(LOCAL_KEY_ID), set(&[octets(&[1, 2, 3, 4])])])])
}

fn cert_bag(identity: &TestIdentity) -> Vec<u8> {
    let cert = identity.certificate.to_der().unwrap();
    seq(&[
        oid("1.2.840.113549.1.12.10.1.3"),
        explicit0(&seq(&[
            oid("1.2.840.113549.1.9.22.1"),
            explicit0(&octets(&cert)),
        ])),
        attributes(),
    ])
}

/// A pkcs8ShroudedKeyBag whose key is encrypted with `scheme` under `claimed` iterations
/// (really [`ITERATIONS`]).
fn key_bag(identity: &TestIdentity, scheme: Scheme, pass: Pass, claimed: u64) -> Vec<u8> {
    let pkcs8 = identity.key.private_key_to_pkcs8().unwrap();
    let (algorithm, encrypted) = encrypt(scheme, pass, claimed, ITERATIONS, &pkcs8);
    seq(&[
        oid("1.2.840.113549.1.12.10.1.2"),
        explicit0(&seq(&[algorithm, octets(&encrypted)])),
        attributes(),
    ])
}

/// A safeContentsBag holding `bags`.
fn nested(bags: &[Vec<u8>]) -> Vec<u8> {
    seq(&[oid("1.2.840.113549.1.12.10.1.6"), explicit0(&seq(bags))])
}

/// A data ContentInfo holding `bags` in the clear.
fn plain_safe(bags: &[Vec<u8>]) -> Vec<u8> {
    seq(&[oid("1.2.840.113549.1.7.1"), explicit0(&octets(&seq(bags)))])
}

/// An encryptedData ContentInfo holding `bags` encrypted with `scheme`.
fn encrypted_safe(scheme: Scheme, pass: Pass, bags: &[Vec<u8>]) -> Vec<u8> {
    let (algorithm, encrypted) = encrypt(scheme, pass, ITERATIONS, ITERATIONS, &seq(bags));
    seq(&[
        oid("1.2.840.113549.1.7.6"),
        explicit0(&seq(&[
            int(0),
            seq(&[
                oid("1.2.840.113549.1.7.1"),
                algorithm,
                tlv(0x80, &encrypted),
            ]),
        ])),
    ])
}

#[derive(Clone, Copy, Debug)]
enum Mac {
    /// The PKCS#12 MAC with HMAC-SHA-256.
    Sha256,
    /// The PKCS#12 MAC with HMAC-SHA-1 (older exporters).
    Sha1,
    /// PBMAC1 (RFC 9579): PBKDF2 with HMAC-SHA-256, HMAC-SHA-256.
    Pbmac1,
}

fn hmac(digest: MessageDigest, key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = PKey::hmac(key).unwrap();
    let mut signer = Signer::new(digest, &key).unwrap();
    signer.update(data).unwrap();
    signer.sign_to_vec().unwrap()
}

/// The PFX around `safes`, with its MAC.
fn pfx(safes: &[Vec<u8>], mac: Mac, pass: Pass) -> Vec<u8> {
    let auth_safe = seq(safes);
    let salt = random(8);
    let rounds = i32::try_from(ITERATIONS).unwrap();
    let mac_data = match mac {
        Mac::Sha256 | Mac::Sha1 => {
            let (digest, digest_oid, key) = if matches!(mac, Mac::Sha256) {
                let key =
                    derive_key::<sha2::Sha256>(&pass.bmp(), &salt, Pkcs12KeyType::Mac, rounds, 32);
                (MessageDigest::sha256(), "2.16.840.1.101.3.4.2.1", key)
            } else {
                let key =
                    derive_key::<sha1::Sha1>(&pass.bmp(), &salt, Pkcs12KeyType::Mac, rounds, 20);
                (MessageDigest::sha1(), "1.3.14.3.2.26", key)
            };
            let value = hmac(digest, &key, &auth_safe);
            seq(&[
                seq(&[seq(&[oid(digest_oid), null()]), octets(&value)]),
                octets(&salt),
                int(ITERATIONS),
            ])
        }
        Mac::Pbmac1 => {
            let mut key = vec![0; 32];
            openssl::pkcs5::pbkdf2_hmac(
                &pass.utf8(),
                &salt,
                ITERATIONS as usize,
                MessageDigest::sha256(),
                &mut key,
            )
            .unwrap();
            let value = hmac(MessageDigest::sha256(), &key, &auth_safe);
            let hmac_sha256 = seq(&[oid("1.2.840.113549.2.9"), null()]);
            let kdf = seq(&[
                oid("1.2.840.113549.1.5.12"),
                seq(&[octets(&salt), int(ITERATIONS), int(32), hmac_sha256.clone()]),
            ]);
            let algorithm = seq(&[oid("1.2.840.113549.1.5.14"), seq(&[kdf, hmac_sha256])]);
            seq(&[
                seq(&[algorithm, octets(&value)]),
                octets(b"NOT USED"),
                int(1),
            ])
        }
    };
    seq(&[
        int(3),
        seq(&[oid("1.2.840.113549.1.7.1"), explicit0(&octets(&auth_safe))]),
        mac_data,
    ])
}

/// The common shape: the certificate and the key in one encrypted SafeContents.
fn key_inside(outer: Scheme, inner: Scheme, key_iterations: u64) -> Vec<u8> {
    let identity = TestIdentity::for_email("inside@example.com");
    let pass = Pass::Given(PASSWORD);
    let bags = [
        cert_bag(&identity),
        key_bag(&identity, inner, pass, key_iterations),
    ];
    pfx(&[encrypted_safe(outer, pass, &bags)], Mac::Sha256, pass)
}

fn check(file: &[u8], password: Option<&str>) -> Result<(), Error> {
    check_pkcs12(
        file,
        password,
        &ImportLimits::default(),
        time::OffsetDateTime::now_utc(),
    )
    .map(drop)
}

fn assert_too_many(file: &[u8], password: Option<&str>, what: &str) {
    let error = check(file, password).expect_err(what);
    assert_eq!(error.code(), "p12_too_many_iterations", "{what}: {error}");
    assert!(
        matches!(
            error,
            Error::TooManyIterations {
                iterations: HOSTILE_ITERATIONS,
                ..
            }
        ),
        "{what}: {error}"
    );
}

/// OpenSSL opens the file and finds the key: the builders make real PKCS#12 files.
fn openssl_opens(file: &[u8], password: &str) {
    mdmkit_core::openssl_legacy::load_legacy_provider();
    let parsed = Pkcs12::from_der(file).unwrap().parse2(password).unwrap();
    assert!(parsed.pkey.is_some() && parsed.cert.is_some());
}

const OUTER_SCHEMES: [Scheme; 8] = [
    Scheme::Pbes2Aes256,
    Scheme::Pbes2TripleDes,
    PKCS12_3DES,
    PKCS12_2KEY_3DES,
    PKCS12_RC2_40,
    PKCS12_RC2_128,
    PKCS12_RC4_128,
    Scheme::Pbes1Sha1Des,
];

#[test]
fn a_key_inside_an_encrypted_safe_imports_with_every_scheme() {
    for outer in OUTER_SCHEMES {
        for inner in [Scheme::Pbes2Aes256, PKCS12_3DES] {
            let file = key_inside(outer, inner, ITERATIONS);
            openssl_opens(&file, PASSWORD);
            check(&file, Some(PASSWORD))
                .unwrap_or_else(|e| panic!("{outer:?} around {inner:?}: {e}"));
        }
    }
}

#[test]
fn a_key_claiming_20m_iterations_inside_an_encrypted_safe_is_refused() {
    for outer in OUTER_SCHEMES {
        for inner in [Scheme::Pbes2Aes256, PKCS12_3DES, PKCS12_RC2_40] {
            let file = key_inside(outer, inner, HOSTILE_ITERATIONS);
            assert_too_many(
                &file,
                Some(PASSWORD),
                &format!("{outer:?} around {inner:?}"),
            );
        }
    }
}

#[test]
fn hidden_keys_are_found_in_nested_bags_and_beside_the_certificates() {
    let identity = TestIdentity::for_email("nested@example.com");
    let pass = Pass::Given(PASSWORD);
    let hostile = key_bag(&identity, Scheme::Pbes2Aes256, pass, HOSTILE_ITERATIONS);
    // A safeContentsBag inside the encrypted SafeContents, two levels deep.
    let file = pfx(
        &[
            encrypted_safe(PKCS12_RC2_40, pass, &[cert_bag(&identity)]),
            encrypted_safe(
                PKCS12_3DES,
                pass,
                &[nested(&[nested(std::slice::from_ref(&hostile))])],
            ),
        ],
        Mac::Sha1,
        pass,
    );
    assert_too_many(&file, Some(PASSWORD), "nested");

    // The layout older exporters use (certificates encrypted with RC2-40, the key in the
    // clear) with a second, hostile key hidden among the certificates.
    let file = pfx(
        &[
            encrypted_safe(PKCS12_RC2_40, pass, &[cert_bag(&identity), hostile]),
            plain_safe(&[key_bag(&identity, PKCS12_3DES, pass, ITERATIONS)]),
        ],
        Mac::Sha1,
        pass,
    );
    assert_too_many(&file, Some(PASSWORD), "beside the certificates");

    // The same with an honest second key: one key too many, now that it is seen.
    let file = pfx(
        &[
            encrypted_safe(
                PKCS12_RC2_40,
                pass,
                &[
                    cert_bag(&identity),
                    key_bag(&identity, PKCS12_3DES, pass, ITERATIONS),
                ],
            ),
            plain_safe(&[key_bag(&identity, PKCS12_3DES, pass, ITERATIONS)]),
        ],
        Mac::Sha1,
        pass,
    );
    let error = check(&file, Some(PASSWORD)).unwrap_err();
    assert!(
        matches!(error, Error::P12SeveralKeys { count: 2 }),
        "{error}"
    );
}

#[test]
fn caps_apply_to_real_derivations_inside_and_to_their_sum() {
    let identity = TestIdentity::for_email("caps@example.com");
    let pass = Pass::Given(PASSWORD);
    let file = pfx(
        &[encrypted_safe(
            Scheme::Pbes2Aes256,
            pass,
            &[
                cert_bag(&identity),
                key_bag(&identity, Scheme::Pbes2Aes256, pass, ITERATIONS),
            ],
        )],
        Mac::Sha256,
        pass,
    );
    openssl_opens(&file, PASSWORD);
    let now = time::OffsetDateTime::now_utc();
    // MAC, content encryption and key: three derivations of 2048; the key's is seen only
    // inside.
    let total = ImportLimits::default().with_max_total_iterations(3 * ITERATIONS - 1);
    let error = check_pkcs12(&file, Some(PASSWORD), &total, now).unwrap_err();
    assert!(
        matches!(error, Error::TooManyIterations { iterations, .. } if iterations == 3 * ITERATIONS),
        "{error}"
    );
    let fits = ImportLimits::default().with_max_total_iterations(3 * ITERATIONS);
    assert!(check_pkcs12(&file, Some(PASSWORD), &fits, now).is_ok());
}

#[test]
fn passwords_are_tried_as_openssl_tries_them() {
    let identity = TestIdentity::for_email("pass@example.com");
    // The empty password (a BMPString of just its terminator) and the absent one (no
    // bytes), each opened with no password and with the empty one.
    for pass in [Pass::Given(""), Pass::Absent] {
        let bags = [
            cert_bag(&identity),
            key_bag(&identity, PKCS12_3DES, pass, ITERATIONS),
        ];
        let file = pfx(
            &[encrypted_safe(PKCS12_RC2_40, pass, &bags)],
            Mac::Sha1,
            pass,
        );
        openssl_opens(&file, "");
        assert!(check(&file, None).is_ok(), "{pass:?}");
        assert!(check(&file, Some("")).is_ok(), "{pass:?}");
        let error = check(&file, Some("pw")).unwrap_err();
        assert!(matches!(error, Error::P12BadPassword), "{pass:?}: {error}");

        let hostile = [
            cert_bag(&identity),
            key_bag(&identity, PKCS12_3DES, pass, HOSTILE_ITERATIONS),
        ];
        let file = pfx(
            &[encrypted_safe(PKCS12_RC2_40, pass, &hostile)],
            Mac::Sha1,
            pass,
        );
        assert_too_many(&file, None, &format!("{pass:?}"));
    }
    // A password outside the BMP (a surrogate pair in UTF-16), as OpenSSL encodes it.
    let password = "p\u{1F512}w";
    let pass = Pass::Given(password);
    let bags = [
        cert_bag(&identity),
        key_bag(&identity, Scheme::Pbes2Aes256, pass, ITERATIONS),
    ];
    let file = pfx(
        &[encrypted_safe(PKCS12_3DES, pass, &bags)],
        Mac::Sha256,
        pass,
    );
    openssl_opens(&file, password);
    assert!(check(&file, Some(password)).is_ok());
}

#[test]
fn a_wrong_password_is_refused_before_anything_is_decrypted() {
    let file = key_inside(PKCS12_3DES, Scheme::Pbes2Aes256, HOSTILE_ITERATIONS);
    let error = check(&file, Some("wrong")).unwrap_err();
    assert!(matches!(error, Error::P12BadPassword), "{error}");
    let error = check(&file, None).unwrap_err();
    assert!(matches!(error, Error::P12PasswordRequired), "{error}");
}

#[test]
fn a_pbmac1_file_is_verified_and_its_hidden_key_capped() {
    let identity = TestIdentity::for_email("pbmac1@example.com");
    let pass = Pass::Given(PASSWORD);
    let hostile = [
        cert_bag(&identity),
        key_bag(&identity, Scheme::Pbes2Aes256, pass, HOSTILE_ITERATIONS),
    ];
    let file = pfx(
        &[encrypted_safe(Scheme::Pbes2Aes256, pass, &hostile)],
        Mac::Pbmac1,
        pass,
    );
    // Reaching the key's count needs the PBMAC1 MAC to verify.
    assert_too_many(&file, Some(PASSWORD), "PBMAC1");
    let error = check(&file, Some("wrong")).unwrap_err();
    assert!(matches!(error, Error::P12BadPassword), "{error}");
}

#[test]
fn a_safe_that_decrypts_to_something_else_is_refused() {
    let identity = TestIdentity::for_email("garbage@example.com");
    let pass = Pass::Given(PASSWORD);
    // The SafeContents with one byte after it: OpenSSL would ignore it, the check does not.
    let (algorithm, encrypted) = {
        let mut contents = seq(&[
            cert_bag(&identity),
            key_bag(&identity, PKCS12_3DES, pass, ITERATIONS),
        ]);
        contents.push(0);
        encrypt(PKCS12_3DES, pass, ITERATIONS, ITERATIONS, &contents)
    };
    let safe = seq(&[
        oid("1.2.840.113549.1.7.6"),
        explicit0(&seq(&[
            int(0),
            seq(&[
                oid("1.2.840.113549.1.7.1"),
                algorithm,
                tlv(0x80, &encrypted),
            ]),
        ])),
    ]);
    let file = pfx(&[safe], Mac::Sha1, pass);
    let error = check(&file, Some(PASSWORD)).unwrap_err();
    assert!(matches!(error, Error::NotPkcs12), "{error}");
}

/// The corpus fuzzer's mutations break the MAC, so they never reach the decrypted
/// SafeContents; here the SafeContents is mutated before it is encrypted and MACed, and
/// every outcome must be a typed error or an import, never a panic.
#[test]
fn mutated_safe_contents_behind_a_good_mac_never_panic() {
    let identity = TestIdentity::for_email("mutant@example.com");
    let pass = Pass::Given(PASSWORD);
    let contents = seq(&[
        cert_bag(&identity),
        nested(&[key_bag(&identity, PKCS12_3DES, pass, ITERATIONS)]),
    ]);
    let mut codes = std::collections::BTreeSet::new();
    for case in 0..300 {
        let mut mutant = contents.clone();
        let mut pick = [0u8; 4];
        rand_bytes(&mut pick).unwrap();
        let at = usize::from(u16::from_be_bytes([pick[0], pick[1]])) % mutant.len();
        match case % 4 {
            0 => mutant[at] ^= pick[2] | 1,
            1 => mutant.truncate(at),
            2 => {
                let end = (at + usize::from(pick[2]) + 1).min(mutant.len());
                mutant.drain(at..end);
            }
            _ => mutant
                .splice(at..at, random(usize::from(pick[2] % 8) + 1))
                .for_each(drop),
        }
        let scheme = if case % 2 == 0 {
            PKCS12_RC2_40
        } else {
            Scheme::Pbes2Aes256
        };
        let (algorithm, encrypted) = encrypt(scheme, pass, ITERATIONS, ITERATIONS, &mutant);
        let safe = seq(&[
            oid("1.2.840.113549.1.7.6"),
            explicit0(&seq(&[
                int(0),
                seq(&[
                    oid("1.2.840.113549.1.7.1"),
                    algorithm,
                    tlv(0x80, &encrypted),
                ]),
            ])),
        ]);
        let file = pfx(&[safe], Mac::Sha1, pass);
        match check(&file, Some(PASSWORD)) {
            Ok(()) => {
                codes.insert("ok");
            }
            Err(error) => {
                codes.insert(error.code());
            }
        }
    }
    assert!(codes.contains("p12_not_pkcs12"), "{codes:?}");
}
