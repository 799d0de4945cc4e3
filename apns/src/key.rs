//! Private keys, held so that they never show in `Debug` output or logs.

use std::fmt;

use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;

use crate::error::{Error, Result};

/// A private key (the customer's push key or the MDM vendor's signing key).
///
/// `Debug` prints `PrivateKey(<redacted>)`; the key material leaves this type only through
/// [`PrivateKey::to_pem`], which the caller asks for explicitly (to store it encrypted, or to
/// write it to a file the administrator asked for).
#[derive(Clone)]
pub struct PrivateKey(PKey<Private>);

impl PrivateKey {
    /// Generates a new RSA-2048 key, the kind Apple's Push Certificates Portal expects.
    pub fn generate_rsa_2048() -> Result<Self> {
        let rsa = Rsa::generate(2048).map_err(Error::crypto)?;
        PKey::from_rsa(rsa).map(Self).map_err(Error::crypto)
    }

    /// Reads a PEM private key (PKCS#8, PKCS#1 "RSA PRIVATE KEY", or encrypted PKCS#8 /
    /// legacy-encrypted PEM when `password` is given).
    ///
    /// `what` names the key in error messages ("vendor key", "push certificate key").
    pub fn from_pem(pem: &[u8], password: Option<&str>, what: &str) -> Result<Self> {
        if pem.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::EmptyInput {
                what: what.to_owned(),
            });
        }
        if !contains(pem, b"PRIVATE KEY-----") {
            return Err(Error::UnreadableKey {
                what: what.to_owned(),
                detail: "no PEM \"PRIVATE KEY\" block found".to_owned(),
            });
        }
        // "ENCRYPTED PRIVATE KEY" (PKCS#8) and "Proc-Type: 4,ENCRYPTED" (legacy PEM).
        let encrypted = contains(pem, b"ENCRYPTED");
        match password {
            Some(password) => {
                if password.contains('\0') {
                    return Err(Error::InvalidPassword);
                }
                PKey::private_key_from_pem_passphrase(pem, password.as_bytes()).map_err(|e| {
                    if encrypted {
                        Error::KeyBadPassword {
                            what: what.to_owned(),
                        }
                    } else {
                        Error::UnreadableKey {
                            what: what.to_owned(),
                            detail: e.to_string(),
                        }
                    }
                })
            }
            None if encrypted => Err(Error::KeyBadPassword {
                what: what.to_owned(),
            }),
            // A callback that supplies no password keeps OpenSSL from prompting on a terminal.
            None => PKey::private_key_from_pem_callback(pem, |_| Ok(0)).map_err(|e| {
                Error::UnreadableKey {
                    what: what.to_owned(),
                    detail: e.to_string(),
                }
            }),
        }
        .map(Self)
    }

    /// The key as unencrypted PKCS#8 PEM. Handle the result as a secret.
    pub fn to_pem(&self) -> Result<Vec<u8>> {
        self.0.private_key_to_pem_pkcs8().map_err(Error::crypto)
    }

    /// The DER SubjectPublicKeyInfo of the matching public key.
    pub fn public_key_der(&self) -> Result<Vec<u8>> {
        self.0.public_key_to_der().map_err(Error::crypto)
    }

    /// Whether this is an RSA key.
    pub fn is_rsa(&self) -> bool {
        self.0.rsa().is_ok()
    }

    pub(crate) fn from_pkey(key: PKey<Private>) -> Self {
        Self(key)
    }

    pub(crate) fn pkey(&self) -> &PKey<Private> {
        &self.0
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::symm::Cipher;

    #[test]
    fn debug_redacts_the_key() {
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "PrivateKey(<redacted>)");
    }

    #[test]
    fn reads_plain_and_encrypted_pem() {
        let key = PrivateKey::generate_rsa_2048().unwrap();
        let plain = key.to_pem().unwrap();
        let again = PrivateKey::from_pem(&plain, None, "key").unwrap();
        assert_eq!(
            again.public_key_der().unwrap(),
            key.public_key_der().unwrap()
        );

        let encrypted = key
            .pkey()
            .private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), b"s3cret")
            .unwrap();
        let again = PrivateKey::from_pem(&encrypted, Some("s3cret"), "key").unwrap();
        assert_eq!(
            again.public_key_der().unwrap(),
            key.public_key_der().unwrap()
        );
        let wrong = PrivateKey::from_pem(&encrypted, Some("nope"), "key").unwrap_err();
        assert_eq!(wrong.code(), "key_bad_password");
        let missing = PrivateKey::from_pem(&encrypted, None, "key").unwrap_err();
        assert_eq!(missing.code(), "key_bad_password");
    }

    #[test]
    fn refuses_garbage_and_empty_keys() {
        assert_eq!(
            PrivateKey::from_pem(b"", None, "key").unwrap_err().code(),
            "empty_input"
        );
        assert_eq!(
            PrivateKey::from_pem(b"not a key", None, "key")
                .unwrap_err()
                .code(),
            "key_unreadable"
        );
        let broken = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            PrivateKey::from_pem(broken, None, "key")
                .unwrap_err()
                .code(),
            "key_unreadable"
        );
    }
}
