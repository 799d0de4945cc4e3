//! At-rest encryption of secrets with AES-256-GCM and a key the application supplies.
//!
//! A sealed value is `version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)`.
//! The associated data names the table, column and row a value belongs to, so a
//! ciphertext copied into another row or column does not decrypt.

use std::fmt;
use std::path::Path;

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rand::rand_bytes;
use openssl::sign::Signer;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};

use crate::secret_file::{create_secret_file, read_secret_file};
use crate::{Error, Result, Secret};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// What the key check MACs: a constant, so the check reveals nothing about the key.
const KEY_CHECK_CONSTANT: &[u8] = b"mdmkit at-rest key check v1";

/// The 32-byte AES-256-GCM key that encrypts secrets in the SQLite and PostgreSQL stores.
///
/// `Debug` redacts it. Keep it outside the database (a key file, a secrets manager): whoever
/// has the database but not the key sees no private key, password or token.
#[derive(Clone)]
pub struct AtRestKey([u8; 32]);

impl AtRestKey {
    /// The key length in bytes.
    pub const LEN: usize = 32;

    /// A key from exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::StoreCrypto(format!(
                "an at-rest key is {} bytes, not {}",
                Self::LEN,
                bytes.len()
            ))
        })?;
        Ok(Self(key))
    }

    /// A new random key.
    pub fn generate() -> Result<Self> {
        let mut key = [0u8; 32];
        rand_bytes(&mut key).map_err(|e| Error::StoreCrypto(format!("no randomness: {e}")))?;
        Ok(Self(key))
    }

    /// The key as 64 lowercase hex digits (the key file format).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A key from 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = || Error::StoreCrypto("an at-rest key file holds 64 hex digits".to_owned());
        let mut key = [0u8; 32];
        hex::decode_to_slice(text, &mut key).map_err(|_| bad())?;
        Ok(Self(key))
    }

    /// Reads the key file at `path` (64 hex digits). A file that others than its owner
    /// can read is refused ([`Error::SecretFileTooOpen`]).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = read_secret_file(path)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Error::StoreCrypto(format!(
                "the key file {} holds 64 hex digits",
                path.display()
            ))
        })?;
        Self::from_hex(text)
    }

    /// Writes the key to a new file at `path`, readable by its owner only; fails when the
    /// file exists. The file format is what [`load`](Self::load) reads.
    pub fn create_file(&self, path: &Path) -> Result<()> {
        create_secret_file(path, format!("{}\n", self.to_hex()).as_bytes())
    }

    /// Reads the key file at `path`, or creates it with a new random key (readable by the
    /// owner only) when it does not exist. Open a store with a created key through the
    /// stores' `open_new`/`connect_new`, which refuse a store that already holds data.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        if path.exists() {
            return Self::load(path);
        }
        let key = Self::generate()?;
        key.create_file(path)?;
        Ok(key)
    }

    /// The key check a store records: HMAC-SHA256 under the key of a constant. It tells
    /// whether a key is the store's without revealing the key or a hash of it.
    pub(crate) fn key_check(&self) -> Result<Vec<u8>> {
        let bad = |e: openssl::error::ErrorStack| Error::StoreCrypto(format!("key check: {e}"));
        let mac_key = PKey::hmac(&self.0).map_err(bad)?;
        let mut signer = Signer::new(MessageDigest::sha256(), &mac_key).map_err(bad)?;
        signer.update(KEY_CHECK_CONSTANT).map_err(bad)?;
        signer.sign_to_vec().map_err(bad)
    }

    /// Whether `check` is this key's [`key_check`](Self::key_check) (compared in
    /// constant time).
    pub(crate) fn matches_check(&self, check: &[u8]) -> Result<bool> {
        let own = self.key_check()?;
        Ok(own.len() == check.len() && openssl::memcmp::eq(&own, check))
    }

    /// Encrypts `plaintext`, bound to `context` (table, column and row).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand_bytes(&mut nonce).map_err(|e| Error::StoreCrypto(format!("no randomness: {e}")))?;
        let mut tag = [0u8; TAG_LEN];
        let ciphertext = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.0,
            Some(&nonce),
            context.as_bytes(),
            plaintext,
            &mut tag,
        )
        .map_err(|e| Error::StoreCrypto(format!("encryption failed: {e}")))?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len() + TAG_LEN);
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed.extend_from_slice(&tag);
        Ok(sealed)
    }

    /// Decrypts what [`seal`](Self::seal) produced for the same `context`. A wrong key,
    /// another context or altered bytes give [`Error::StoreCrypto`].
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Secret> {
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != VERSION {
            return Err(Error::StoreCrypto(format!(
                "{context}: not a sealed value of this version"
            )));
        }
        let nonce = &sealed[1..1 + NONCE_LEN];
        let (ciphertext, tag) =
            sealed[1 + NONCE_LEN..].split_at(sealed.len() - 1 - NONCE_LEN - TAG_LEN);
        decrypt_aead(
            Cipher::aes_256_gcm(),
            &self.0,
            Some(nonce),
            context.as_bytes(),
            ciphertext,
            tag,
        )
        .map(Secret::new)
        .map_err(|_| {
            Error::StoreCrypto(format!(
                "{context}: cannot decrypt (wrong key or altered data)"
            ))
        })
    }
}

impl fmt::Debug for AtRestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AtRestKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let key = AtRestKey::generate().unwrap();
        let sealed = key.seal(b"private key", "t.c\0row").unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"private key"));
        assert_eq!(
            key.open(&sealed, "t.c\0row").unwrap().expose(),
            b"private key"
        );
        assert_eq!(
            key.open(&sealed, "t.c\0other").unwrap_err().code(),
            "store_crypto"
        );
        let other = AtRestKey::generate().unwrap();
        assert!(other.open(&sealed, "t.c\0row").is_err());
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(key.open(&altered, "t.c\0row").is_err());
        assert!(key.open(&sealed[..10], "t.c\0row").is_err());
        assert!(key.open(&[], "t.c\0row").is_err());
    }

    #[test]
    fn key_formats_and_debug() {
        let key = AtRestKey::generate().unwrap();
        let again = AtRestKey::from_hex(&format!(" {}\n", key.to_hex())).unwrap();
        assert_eq!(again.to_hex(), key.to_hex());
        assert!(!format!("{key:?}").contains(&key.to_hex()[..8]));
        assert!(AtRestKey::from_hex("abcd").is_err());
        assert!(AtRestKey::from_hex(&"zz".repeat(32)).is_err());
        assert!(AtRestKey::from_hex(&"é".repeat(32)).is_err());
        assert!(AtRestKey::from_bytes(&[0; 31]).is_err());
        assert!(AtRestKey::from_bytes(&[0; 32]).is_ok());
    }

    #[test]
    fn key_file_is_created_owner_only_and_reread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let created = AtRestKey::load_or_create(&path).unwrap();
        let reread = AtRestKey::load_or_create(&path).unwrap();
        assert_eq!(created.to_hex(), reread.to_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key").unwrap();
        assert_eq!(
            AtRestKey::load_or_create(&path).unwrap_err().code(),
            "store_crypto"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(&path, format!("{}\n", created.to_hex())).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(
                AtRestKey::load(&path).unwrap_err().code(),
                "secret_file_too_open"
            );
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(AtRestKey::load(&path).unwrap().to_hex(), created.to_hex());
        }
    }

    #[test]
    fn key_check_matches_only_its_key() {
        let key = AtRestKey::from_bytes(&[1; 32]).unwrap();
        let check = key.key_check().unwrap();
        assert_eq!(check.len(), 32);
        assert!(key.matches_check(&check).unwrap());
        assert!(!AtRestKey::from_bytes(&[2; 32])
            .unwrap()
            .matches_check(&check)
            .unwrap());
        assert!(!key.matches_check(&check[..31]).unwrap());
        assert!(!key.matches_check(&[]).unwrap());
        // Neither the key nor its plain hash.
        assert_ne!(check, vec![1; 32]);
        assert_ne!(
            check,
            openssl::sha::sha256(&[1; 32]).to_vec(),
            "the check is a MAC, not a hash of the key"
        );
    }
}
