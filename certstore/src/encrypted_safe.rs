//! Verifying a PKCS#12 MAC and decrypting an encryptedData safe before OpenSSL does.
//!
//! A shrouded key bag (or any password-protected bag) inside an *encrypted* SafeContents
//! shows its key-derivation cost only after decryption, and OpenSSL derives it right
//! after decrypting. So the outline verifies the MAC and decrypts each encrypted
//! SafeContents itself (their iteration counts are visible and capped first), then reads
//! the bags inside with the same strict parser and caps, before OpenSSL parses anything.
//!
//! The cryptography is OpenSSL's (PBKDF2, HMAC, the ciphers) and, for the PKCS#12 key
//! derivation of RFC 7292 appendix B, which OpenSSL does not expose, RustCrypto's
//! `pkcs12` crate. The passwords are tried as OpenSSL's `PKCS12_parse` tries them.

use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::Cipher;
use pkcs12::kdf::{derive_key, Pkcs12KeyType};
use x509_parser::der_parser::asn1_rs::Any;

use crate::import::{algorithm_identifier, integer, octet_string, sequence, MacData, Pbkdf2};
use crate::{Error, Result};

const OID_PBES2: &str = "1.2.840.113549.1.5.13";
const OID_PBMAC1: &str = "1.2.840.113549.1.5.14";
const OID_PKCS12_PBE_PREFIX: &str = "1.2.840.113549.1.12.1.";

/// How a password reaches the key derivations, following OpenSSL: an absent password is
/// no bytes at all, a given one is its UTF-8 bytes for PBKDF2 and PKCS#5 v1, and a
/// NUL-terminated big-endian UTF-16 string (a BMPString) for the PKCS#12 derivation.
pub(crate) enum Password<'p> {
    /// No password (OpenSSL's NULL, tried first when none or the empty one is given).
    Absent,
    /// A password, possibly empty.
    Given(&'p str),
}

impl Password<'_> {
    fn utf8(&self) -> &[u8] {
        match self {
            Password::Absent => &[],
            Password::Given(password) => password.as_bytes(),
        }
    }

    fn bmp(&self) -> Vec<u8> {
        match self {
            Password::Absent => Vec::new(),
            Password::Given(password) => password
                .encode_utf16()
                .chain([0])
                .flat_map(u16::to_be_bytes)
                .collect(),
        }
    }
}

/// The password form under which the MAC verifies. OpenSSL tries the absent password and
/// then the empty one when given none or the empty one; otherwise only the given one.
pub(crate) fn verified_password<'p>(
    mac: &MacData<'_>,
    auth_safe: &[u8],
    given: Option<&'p str>,
) -> Result<Password<'p>> {
    let candidates = match given {
        None | Some("") => vec![Password::Absent, Password::Given("")],
        Some(password) => vec![Password::Given(password)],
    };
    for candidate in candidates {
        if mac_verifies(mac, auth_safe, &candidate)? {
            return Ok(candidate);
        }
    }
    Err(Error::P12BadPassword)
}

fn mac_verifies(mac: &MacData<'_>, auth_safe: &[u8], password: &Password<'_>) -> Result<bool> {
    let (kind, params) = algorithm_identifier(&mac.algorithm)?;
    let (digest, key) = if kind == OID_PBMAC1 {
        // PBMAC1-params ::= SEQUENCE { keyDerivationFunc, messageAuthScheme }: the key is
        // PBKDF2 of the UTF-8 password; MacData's salt and iterations are not used.
        let fields = sequence(&params.ok_or(Error::NotPkcs12)?)?;
        let [kdf, scheme] = fields.as_slice() else {
            return Err(Error::NotPkcs12);
        };
        let digest = hmac_digest(&algorithm_identifier(scheme)?.0)?;
        let kdf = Pbkdf2::read(kdf)?;
        let length = match kdf.key_length {
            Some(length) => usize::try_from(length)
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or(Error::NotPkcs12)?,
            None => digest.size(),
        };
        (digest, pbkdf2(&kdf, password, length)?)
    } else {
        let (digest, derive) = pkcs12_digest(&kind)?;
        let rounds = rounds(mac.iterations)?;
        let key = derive(
            &password.bmp(),
            mac.salt,
            Pkcs12KeyType::Mac,
            rounds,
            digest.size(),
        );
        (digest, key)
    };
    let expected = hmac(digest, &key, auth_safe)?;
    Ok(expected.len() == mac.digest.len() && openssl::memcmp::eq(&expected, mac.digest))
}

/// Decrypts an encryptedData safe's content with its password-based scheme: PBES2
/// (PBKDF2 with AES-CBC, 3DES or DES), the PKCS#12 schemes (3DES, 2-key 3DES, RC2, RC4)
/// or PKCS#5 v1 (DES or RC2 with MD5 or SHA-1). A failed decryption is reported as OpenSSL
/// would report it, as a wrong password.
pub(crate) fn decrypt(
    algorithm: &Any<'_>,
    data: &[u8],
    password: &Password<'_>,
) -> Result<Vec<u8>> {
    let (kind, params) = algorithm_identifier(algorithm)?;
    let params = params.ok_or(Error::NotPkcs12)?;
    let unsupported = || Error::P12UnsupportedAlgorithm(format!("encryption scheme {kind}"));
    let (cipher, key, iv) = if kind == OID_PBES2 {
        // PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme }
        let fields = sequence(&params)?;
        let [kdf, scheme] = fields.as_slice() else {
            return Err(Error::NotPkcs12);
        };
        let (scheme, iv) = algorithm_identifier(scheme)?;
        let cipher = match scheme.as_str() {
            "2.16.840.1.101.3.4.1.2" => Cipher::aes_128_cbc(),
            "2.16.840.1.101.3.4.1.22" => Cipher::aes_192_cbc(),
            "2.16.840.1.101.3.4.1.42" => Cipher::aes_256_cbc(),
            "1.2.840.113549.3.7" => Cipher::des_ede3_cbc(),
            "1.3.14.3.2.7" => Cipher::des_cbc(),
            other => {
                return Err(Error::P12UnsupportedAlgorithm(format!(
                    "PBES2 encryption scheme {other}"
                )))
            }
        };
        let iv = octet_string(&iv.ok_or(Error::NotPkcs12)?)?.to_vec();
        let kdf = Pbkdf2::read(kdf)?;
        if kdf
            .key_length
            .is_some_and(|length| length != cipher.key_len() as u64)
        {
            return Err(Error::NotPkcs12);
        }
        (cipher, pbkdf2(&kdf, password, cipher.key_len())?, iv)
    } else if let Some(scheme) = kind.strip_prefix(OID_PKCS12_PBE_PREFIX) {
        // RFC 7292 appendix C: key and IV from the PKCS#12 derivation with SHA-1.
        let nid = match scheme {
            "1" => Nid::RC4,
            "2" => Nid::RC4_40,
            "3" => Nid::DES_EDE3_CBC,
            "4" => Nid::DES_EDE_CBC,
            "5" => Nid::RC2_CBC,
            "6" => Nid::RC2_40_CBC,
            _ => return Err(unsupported()),
        };
        let cipher = Cipher::from_nid(nid).ok_or_else(unsupported)?;
        let (salt, iterations) = pbe_params(&params)?;
        let rounds = rounds(iterations)?;
        let password = password.bmp();
        let derive = |id, length| derive_key::<sha1::Sha1>(&password, salt, id, rounds, length);
        let key = derive(Pkcs12KeyType::EncryptionKey, cipher.key_len());
        let iv = match cipher.iv_len() {
            Some(length) if length > 0 => derive(Pkcs12KeyType::Iv, length),
            _ => Vec::new(),
        };
        (cipher, key, iv)
    } else {
        // PKCS#5 v1 (PBES1): PBKDF1, which is OpenSSL's EVP_BytesToKey for one block.
        let (digest, nid) = match kind.as_str() {
            "1.2.840.113549.1.5.3" => (MessageDigest::md5(), Nid::DES_CBC),
            "1.2.840.113549.1.5.6" => (MessageDigest::md5(), Nid::RC2_64_CBC),
            "1.2.840.113549.1.5.10" => (MessageDigest::sha1(), Nid::DES_CBC),
            "1.2.840.113549.1.5.11" => (MessageDigest::sha1(), Nid::RC2_64_CBC),
            _ => return Err(unsupported()),
        };
        let cipher = Cipher::from_nid(nid).ok_or_else(unsupported)?;
        let (salt, iterations) = pbe_params(&params)?;
        // PBES1 salts are eight bytes (and OpenSSL's binding insists on it).
        if salt.len() != 8 {
            return Err(Error::NotPkcs12);
        }
        let pair = openssl::pkcs5::bytes_to_key(
            cipher,
            digest,
            password.utf8(),
            Some(salt),
            rounds(iterations)?,
        )
        .map_err(|_| Error::P12BadPassword)?;
        (cipher, pair.key, pair.iv.unwrap_or_default())
    };
    let iv = match cipher.iv_len() {
        Some(length) if iv.len() == length => Some(iv.as_slice()),
        None | Some(0) if iv.is_empty() => None,
        _ => return Err(Error::NotPkcs12),
    };
    mdmkit_core::openssl_legacy::load_legacy_provider();
    openssl::symm::decrypt(cipher, &key, iv, data).map_err(|_| Error::P12BadPassword)
}

/// pkcs-12PbeParams and PBEParameter ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }
fn pbe_params<'a>(params: &Any<'a>) -> Result<(&'a [u8], u64)> {
    let fields = sequence(params)?;
    let [salt, iterations] = fields.as_slice() else {
        return Err(Error::NotPkcs12);
    };
    Ok((octet_string(salt)?, integer(iterations)?))
}

/// An iteration count as the derivations take it (the caps keep it far below).
fn rounds(iterations: u64) -> Result<i32> {
    i32::try_from(iterations).map_err(|_| Error::TooManyIterations {
        iterations,
        limit: i32::MAX as u64,
    })
}

fn pbkdf2(kdf: &Pbkdf2<'_>, password: &Password<'_>, length: usize) -> Result<Vec<u8>> {
    let salt = kdf.salt.ok_or_else(|| {
        Error::P12UnsupportedAlgorithm("PBKDF2 with an algorithm as salt".to_owned())
    })?;
    let digest = match &kdf.prf {
        None => MessageDigest::sha1(),
        Some(prf) => hmac_digest(prf)?,
    };
    let iterations = usize::try_from(rounds(kdf.iterations)?).map_err(|_| Error::NotPkcs12)?;
    let mut key = vec![0; length];
    openssl::pkcs5::pbkdf2_hmac(password.utf8(), salt, iterations, digest, &mut key)
        .map_err(|_| Error::P12BadPassword)?;
    Ok(key)
}

/// The digest of an HMAC algorithm identifier (RFC 8018 appendix B.1).
fn hmac_digest(oid: &str) -> Result<MessageDigest> {
    Ok(match oid {
        "1.2.840.113549.2.7" => MessageDigest::sha1(),
        "1.2.840.113549.2.8" => MessageDigest::sha224(),
        "1.2.840.113549.2.9" => MessageDigest::sha256(),
        "1.2.840.113549.2.10" => MessageDigest::sha384(),
        "1.2.840.113549.2.11" => MessageDigest::sha512(),
        other => return Err(Error::P12UnsupportedAlgorithm(format!("PRF {other}"))),
    })
}

/// The PKCS#12 derivation for one digest: `derive_key::<D>`.
type Derive = fn(&[u8], &[u8], Pkcs12KeyType, i32, usize) -> Vec<u8>;

/// The digest of a classic PKCS#12 MAC, for the HMAC and for its key derivation.
fn pkcs12_digest(oid: &str) -> Result<(MessageDigest, Derive)> {
    Ok(match oid {
        "1.3.14.3.2.26" => (MessageDigest::sha1(), derive_key::<sha1::Sha1>),
        "2.16.840.1.101.3.4.2.1" => (MessageDigest::sha256(), derive_key::<sha2::Sha256>),
        "2.16.840.1.101.3.4.2.2" => (MessageDigest::sha384(), derive_key::<sha2::Sha384>),
        "2.16.840.1.101.3.4.2.3" => (MessageDigest::sha512(), derive_key::<sha2::Sha512>),
        "2.16.840.1.101.3.4.2.4" => (MessageDigest::sha224(), derive_key::<sha2::Sha224>),
        other => {
            return Err(Error::P12UnsupportedAlgorithm(format!(
                "MAC digest {other}"
            )))
        }
    })
}

fn hmac(digest: MessageDigest, key: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    let crypto = |e: openssl::error::ErrorStack| Error::Crypto(e.to_string());
    let key = PKey::hmac(key).map_err(crypto)?;
    let mut signer = Signer::new(digest, &key).map_err(crypto)?;
    signer.update(data).map_err(crypto)?;
    signer.sign_to_vec().map_err(crypto)
}
