//! At-rest encryption of secrets with AES-256-GCM and a key the application supplies.
//!
//! A sealed value is `version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)`.
//! The associated data names the table, column and row a value belongs to, so a
//! ciphertext copied into another row or column does not decrypt.

use std::fmt;
use std::path::Path;

use openssl::rand::rand_bytes;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};

use crate::{Error, Result, Secret};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

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

    /// Reads the key file at `path`, or creates it with a new random key (readable by the
    /// owner only) when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate()?;
                write_owner_only(path, format!("{}\n", key.to_hex()).as_bytes()).map_err(|e| {
                    Error::StoreCrypto(format!("cannot create key file {}: {e}", path.display()))
                })?;
                Ok(key)
            }
            Err(error) => Err(Error::StoreCrypto(format!(
                "cannot read key file {}: {error}",
                path.display()
            ))),
        }
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

#[cfg(unix)]
fn write_owner_only(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_owner_only(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
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
    }
}
