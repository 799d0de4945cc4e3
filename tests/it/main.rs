//! Cross-crate end-to-end tests of mdmkit.

mod certstore;
mod ddm;
mod engine;
mod enrollment;
mod invite;
mod protocol;
mod webhook;
