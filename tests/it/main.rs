//! Cross-crate end-to-end tests of mdmkit.

mod admin_api;
mod at_rest;
mod certstore;
mod ddm;
mod engine;
mod enrollment;
mod fuzz;
mod invite;
mod portal_service;
mod protocol;
mod service;
mod takeover;
mod webhook;
