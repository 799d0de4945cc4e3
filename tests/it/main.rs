//! Cross-crate end-to-end tests of mdmkit.

mod at_rest;
mod certstore;
mod engine;
mod enrollment;
mod invite;
mod protocol;
mod service;
mod webhook;
