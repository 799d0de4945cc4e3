//! `uniffi-bindgen`, built from the workspace so the generator is exactly the uniffi version
//! the `mdmkit-swift` library was built with (a mismatch fails at load time with a checksum
//! error). `scripts/swift.sh` runs it:
//! `cargo run -p mdmkit-uniffi-bindgen -- generate --library <cdylib> --language swift ...`.
#![forbid(unsafe_code)]

fn main() {
    uniffi::uniffi_bindgen_main()
}
