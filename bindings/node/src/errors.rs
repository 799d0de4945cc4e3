//! Rust errors as JavaScript `Error`s carrying the stable `code`.

use std::future::Future;

use napi::bindgen_prelude::{JsObjectValue, PromiseRaw, ToNapiValue};
use napi::{Env, JsValue, Status};
use napi_derive::napi;

/// The thrown form (napi throws an `Error` whose `code` is the status string) of a service error: `code` the stable code, the message Rust's.
pub(crate) fn sync_error(error: &mdmkit_service::Error) -> napi::Error<String> {
    napi::Error::new(error.code().to_owned(), error.to_string())
}

/// Wrong use of the API from JavaScript (a value of the wrong type): `invalid_input`, like
/// the service's own refusal of an unacceptable argument.
pub(crate) fn usage(message: impl Into<String>) -> mdmkit_service::Error {
    mdmkit_service::Error::InvalidInput(message.into())
}

/// A napi failure while converting a value, as `invalid_input`.
pub(crate) fn from_napi(error: napi::Error) -> mdmkit_service::Error {
    usage(error.reason.clone())
}

/// The error a Promise rejects with: a JavaScript `Error` with `code` set, built on the
/// JavaScript thread (napi's own Promise errors carry only its status codes).
fn rejection(env: &Env, error: &mdmkit_service::Error) -> napi::Error {
    let build = || -> napi::Result<napi::Error> {
        let mut object = env.create_error(napi::Error::new(Status::GenericFailure, error))?;
        object.set_named_property("code", error.code())?;
        Ok(napi::Error::from(object.to_unknown()))
    };
    build().unwrap_or_else(|e| e)
}

/// Runs `future` on the runtime; the Promise resolves with `convert` of its value or rejects
/// with the service error's code.
pub(crate) fn promise<'env, T, V, F, C>(
    env: &'env Env,
    future: F,
    convert: C,
) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: Future<Output = mdmkit_service::Result<T>> + Send + 'static,
    C: FnOnce(T) -> mdmkit_service::Result<V> + 'static,
{
    env.spawn_future_with_callback(
        async move { Ok(future.await) },
        move |env, result| match result.and_then(convert) {
            Ok(value) => Ok(value),
            Err(error) => Err(rejection(env, &error)),
        },
    )
}

/// Every stable error code a call can fail with (the service's and every crate's below),
/// sorted: what `error.code` can be.
#[napi]
pub fn error_codes() -> Vec<String> {
    mdmkit_service::Error::all_codes()
        .into_iter()
        .map(str::to_owned)
        .collect()
}
