//! Cross-crate end-to-end tests of mdmkit.

mod engine;
mod protocol;
