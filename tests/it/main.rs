//! Cross-crate end-to-end tests of mdmkit.

mod admin_api;
mod certstore;
mod engine;
mod enrollment;
mod fuzz;
mod invite;
mod protocol;
mod takeover;
mod webhook;
