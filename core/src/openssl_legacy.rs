//! OpenSSL's legacy algorithms (RC2, 3DES), which older PKCS#12 exports still use.

use std::sync::Once;

/// Loads OpenSSL's "legacy" provider once for the whole process, keeping the default
/// provider available.
///
/// PKCS#12 files made by older tools (macOS Keychain, Windows, OpenSSL 1.x) encrypt with
/// RC2-40 or 3DES, which OpenSSL 3 keeps in the legacy provider; without it such files
/// cannot be decrypted. Explicitly loading a provider disables OpenSSL's implicit loading
/// of the default one, so it is loaded with the fallback flag set. If the legacy provider
/// is not installed, nothing happens and those files fail to decrypt (OpenSSL reports that
/// like a wrong password).
pub fn load_legacy_provider() {
    static LOAD: Once = Once::new();
    LOAD.call_once(|| {
        if let Ok(provider) = openssl::provider::Provider::try_load(None, "legacy", true) {
            // Dropping the handle would unload the provider; it must stay for the process.
            std::mem::forget(provider);
        }
    });
}
