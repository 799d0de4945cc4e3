//! Cross-crate end-to-end tests of mdmkit.

mod protocol;
