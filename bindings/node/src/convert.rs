//! Values between JavaScript and plists: `Buffer` ⇄ data, `Date` ⇄ date, integral numbers
//! ⇄ integers, other numbers ⇄ reals; strings, booleans, arrays and plain objects as such.
//! Dates between Rust and JavaScript go through `chrono` (napi's `Date`).

use chrono::{DateTime, Utc};
use napi::bindgen_prelude::{
    Buffer, BufferSlice, FromNapiValue, Function, FunctionRef, JsObjectValue, JsValuesTupleIntoVec,
    Null, Object, ToNapiValue, TypeName, Unknown,
};
use napi::{Env, JsValue, ValueType};
use plist::{Dictionary, Value};
use time::OffsetDateTime;

use crate::errors::{from_napi, usage};

type Result<T> = mdmkit_service::Result<T>;

/// A UTC time as a JavaScript `Date`.
pub(crate) fn date(at: OffsetDateTime) -> DateTime<Utc> {
    let nanos = at.unix_timestamp_nanos();
    DateTime::from_timestamp_nanos(i64::try_from(nanos).unwrap_or(i64::MAX))
}

/// An optional UTC time as a JavaScript `Date` or `null`.
pub(crate) fn opt_date(at: Option<OffsetDateTime>) -> Option<DateTime<Utc>> {
    at.map(date)
}

/// A string argument, or `invalid_input` naming it (a number where a string is expected
/// rejects the Promise instead of throwing).
pub(crate) fn text(js: &Unknown<'_>, name: &str) -> Result<String> {
    match js.get_type().map_err(from_napi)? {
        ValueType::String => js
            .coerce_to_string()
            .and_then(|s| s.into_utf8())
            .and_then(|s| s.into_owned())
            .map_err(from_napi),
        other => Err(usage(format!("{name} must be a string, not {other}"))),
    }
}

/// An argument converted as napi would (`String`, `Buffer`, `Option<…>`, an object of
/// the declared shape…), or `invalid_input` naming it: the methods take their arguments as
/// `Unknown` so that a wrong type rejects the Promise (or throws, for synchronous
/// functions) with our code instead of napi's (`StringExpected`…).
/// Objects are checked to be objects first (napi would read the fields of a string).
pub(crate) fn arg<V: FromNapiValue + TypeName>(js: Unknown<'_>, name: &str) -> Result<V> {
    let given = js.get_type().map_err(from_napi)?;
    let expected = V::value_type();
    if expected == ValueType::Object
        && !matches!(
            given,
            ValueType::Object | ValueType::Undefined | ValueType::Null
        )
    {
        return Err(usage(format!(
            "{name} has the wrong type ({given} given): {} expected",
            V::type_name()
        )));
    }
    V::from_unknown(js).map_err(|error| {
        usage(format!(
            "{name} has the wrong type ({given} given): {}",
            error.reason
        ))
    })
}

/// An object argument as JSON (through napi's serde support), or `invalid_input`.
pub(crate) fn json_object(js: Unknown<'_>, name: &str) -> Result<serde_json::Value> {
    let given = js.get_type().map_err(from_napi)?;
    if given != ValueType::Object {
        return Err(usage(format!(
            "{name} has the wrong type ({given} given): an object expected"
        )));
    }
    serde_json::Value::from_unknown(js).map_err(|error| usage(format!("{name}: {}", error.reason)))
}

/// An optional argument (absent, `undefined` or `null` are `None`), as [`arg`].
pub(crate) fn opt_arg<V: FromNapiValue + TypeName>(
    js: Option<Unknown<'_>>,
    name: &str,
) -> Result<Option<V>> {
    match js {
        Some(js) => arg::<Option<V>>(js, name),
        None => Ok(None),
    }
}

/// A JavaScript object (Apple's key names) as a plist dictionary.
pub(crate) fn dictionary(object: Unknown<'_>, what: &str) -> Result<Dictionary> {
    match value(&object, what)? {
        Value::Dictionary(dict) => Ok(dict),
        _ => Err(usage(format!("{what} must be a plain object"))),
    }
}

/// A JavaScript value as a plist value; `path` names it in errors.
pub(crate) fn value(js: &Unknown<'_>, path: &str) -> Result<Value> {
    let kind = js.get_type().map_err(from_napi)?;
    match kind {
        ValueType::String => Ok(Value::String(
            js.coerce_to_string()
                .and_then(|s| s.into_utf8())
                .and_then(|s| s.into_owned())
                .map_err(from_napi)?,
        )),
        ValueType::Boolean => Ok(Value::Boolean(js.coerce_to_bool().map_err(from_napi)?)),
        ValueType::Number => {
            let number = js
                .coerce_to_number()
                .and_then(|n| n.get_double())
                .map_err(from_napi)?;
            if number.fract() == 0.0 && number.abs() < 9.007_199_254_740_992e15 {
                Ok(Value::Integer((number as i64).into()))
            } else {
                Ok(Value::Real(number))
            }
        }
        ValueType::BigInt => Err(usage(format!(
            "{path}: BigInt is not supported; use a number"
        ))),
        ValueType::Object => object_value(js, path),
        other => Err(usage(format!(
            "{path}: a {other} cannot be sent to a device"
        ))),
    }
}

fn object_value(js: &Unknown<'_>, path: &str) -> Result<Value> {
    let object = js.coerce_to_object().map_err(from_napi)?;
    if js.is_buffer().map_err(from_napi)? {
        let mut holder = Object::new(&env_of(js)).map_err(from_napi)?;
        holder.set("v", object).map_err(from_napi)?;
        let buffer: Buffer = holder
            .get("v")
            .map_err(from_napi)?
            .ok_or_else(|| usage(path))?;
        return Ok(Value::Data(buffer.to_vec()));
    }
    if js.is_date().map_err(from_napi)? {
        let mut holder = Object::new(&env_of(js)).map_err(from_napi)?;
        holder.set("v", object).map_err(from_napi)?;
        let at: DateTime<Utc> = holder
            .get("v")
            .map_err(from_napi)?
            .ok_or_else(|| usage(path))?;
        return Ok(Value::Date(std::time::SystemTime::from(at).into()));
    }
    if js.is_array().map_err(from_napi)? {
        let length: u32 = object.get("length").map_err(from_napi)?.unwrap_or(0);
        let mut items = Vec::with_capacity(length as usize);
        for index in 0..length {
            let item: Unknown = object.get_element(index).map_err(from_napi)?;
            items.push(value(&item, &format!("{path}[{index}]"))?);
        }
        return Ok(Value::Array(items));
    }
    let mut dict = Dictionary::new();
    for key in Object::keys(&object).map_err(from_napi)? {
        let item: Unknown = object.get_named_property(&key).map_err(from_napi)?;
        if matches!(item.get_type().map_err(from_napi)?, ValueType::Undefined) {
            continue;
        }
        let child = value(&item, &format!("{path}.{key}"))?;
        dict.insert(key, child);
    }
    Ok(Value::Dictionary(dict))
}

fn env_of(js: &Unknown<'_>) -> Env {
    Env::from_raw(js.value().env)
}

/// A plist value as a JavaScript value (built on the JavaScript thread).
pub(crate) fn to_js<'env>(env: &'env Env, value: &Value) -> napi::Result<Unknown<'env>> {
    match value {
        Value::String(s) => s.as_str().into_unknown(env),
        Value::Boolean(b) => (*b).into_unknown(env),
        Value::Integer(i) => match i.as_signed() {
            Some(v) => v.into_unknown(env),
            None => (i.as_unsigned().unwrap_or_default() as f64).into_unknown(env),
        },
        Value::Real(r) => (*r).into_unknown(env),
        // A copy into a buffer V8 owns: cheaper than an external buffer (no finalizer).
        Value::Data(bytes) => BufferSlice::copy_from(env, bytes)?.into_unknown(env),
        Value::Date(at) => {
            let at: DateTime<Utc> = std::time::SystemTime::from(*at).into();
            at.into_unknown(env)
        }
        Value::Array(items) => {
            let mut array = env.create_array(items.len() as u32)?;
            for (index, item) in items.iter().enumerate() {
                array.set(index as u32, to_js(env, item)?)?;
            }
            array.into_unknown(env)
        }
        Value::Dictionary(dict) => dict_to_js(env, dict)?.into_unknown(env),
        Value::Uid(uid) => (uid.get() as f64).into_unknown(env),
        _ => Null.into_unknown(env),
    }
}

/// A plist dictionary as a JavaScript object, keys in order.
pub(crate) fn dict_to_js<'env>(env: &'env Env, dict: &Dictionary) -> napi::Result<Object<'env>> {
    let mut entries = Vec::with_capacity(1 + 2 * dict.len());
    push_entries(env, dict, &mut entries)?;
    object_of(env, entries)
}

/// The keys and values of `dict` as JavaScript values, in order, for [`CONVERTERS`].
///
/// The first argument is the bytes of the dictionary's data values, one after the other,
/// as a Latin-1 string (one character a byte), or `undefined` when it holds none; each data
/// value is given as its length then its key (instead of key then value). `fill` turns the
/// string into one `Buffer` with `Buffer.from(bytes, 'latin1')` (from Node's pool of small
/// Buffers, as every small `Buffer.from` is) and each value into a view of its bytes in it
/// (`subarray`): about 80 ns a dictionary and 40 ns a value, against 360–500 ns a value for
/// a `Buffer` made by `napi_create_buffer_copy` (docs/node.md).
fn push_entries<'env>(
    env: &'env Env,
    dict: &Dictionary,
    entries: &mut Vec<Unknown<'env>>,
) -> napi::Result<()> {
    let data = || dict.values().filter_map(Value::as_data);
    if data().next().is_none() {
        entries.push(().into_unknown(env)?);
        for (key, item) in dict {
            entries.push(key.as_str().into_unknown(env)?);
            entries.push(to_js(env, item)?);
        }
        return Ok(());
    }
    let mut bytes = Vec::with_capacity(data().map(<[u8]>::len).sum());
    data().for_each(|data| bytes.extend_from_slice(data));
    entries.push(env.create_string_latin1(&bytes)?.into_unknown(env)?);
    for (key, item) in dict {
        if let Value::Data(data) = item {
            entries.push((data.len() as f64).into_unknown(env)?);
            entries.push(key.as_str().into_unknown(env)?);
        } else {
            entries.push(key.as_str().into_unknown(env)?);
            entries.push(to_js(env, item)?);
        }
    }
    Ok(())
}

/// JSON handed to JavaScript (a device's answer as JSON): objects made by [`object_of`], so a
/// `__proto__` key a device sent stays an own property (napi's own conversion of
/// `serde_json::Value` sets each key with `[[Set]]`, where `__proto__` replaces the
/// prototype).
#[derive(Debug, Clone, PartialEq)]
pub struct Json(pub serde_json::Value);

impl TypeName for Json {
    fn type_name() -> &'static str {
        "any"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ToNapiValue for Json {
    unsafe fn to_napi_value(
        env: napi::sys::napi_env,
        val: Self,
    ) -> napi::Result<napi::sys::napi_value> {
        let env = Env::from_raw(env);
        Ok(json_to_js(&env, &val.0)?.raw())
    }
}

impl FromNapiValue for Json {
    unsafe fn from_napi_value(
        env: napi::sys::napi_env,
        napi_val: napi::sys::napi_value,
    ) -> napi::Result<Self> {
        // SAFETY: the same contract as this function's: a value of `env`.
        unsafe { serde_json::Value::from_napi_value(env, napi_val) }.map(Json)
    }
}

/// A JSON value as a JavaScript value, objects through [`object_of`].
fn json_to_js<'env>(env: &'env Env, value: &serde_json::Value) -> napi::Result<Unknown<'env>> {
    use serde_json::Value as J;
    match value {
        J::Null => Null.into_unknown(env),
        J::Bool(b) => (*b).into_unknown(env),
        J::Number(n) => match n.as_i64() {
            Some(i) => i.into_unknown(env),
            None => n.as_f64().unwrap_or(f64::NAN).into_unknown(env),
        },
        J::String(s) => s.as_str().into_unknown(env),
        J::Array(items) => {
            let mut array = env.create_array(items.len() as u32)?;
            for (index, item) in items.iter().enumerate() {
                array.set(index as u32, json_to_js(env, item)?)?;
            }
            array.into_unknown(env)
        }
        J::Object(map) => {
            let mut entries = Vec::with_capacity(1 + 2 * map.len());
            // No data in JSON: no bytes first.
            entries.push(().into_unknown(env)?);
            for (key, item) in map {
                entries.push(key.as_str().into_unknown(env)?);
                entries.push(json_to_js(env, item)?);
            }
            object_of(env, entries)?.into_unknown(env)
        }
    }
}

/// The JavaScript functions [`object_of`] and [`checkin_object`] call: `objectOf` makes a
/// plain object from its arguments taken as key, value, key, value… — the same object as
/// one `napi_set_property` per key makes (`object[key] = value`), built where V8's inline
/// caches make each store cheap; `checkinOf(messageType, enrollmentId, …entries)` makes a
/// decoded check-in and its message in the same call. A pure conversion: no other logic
/// runs in JavaScript. A `__proto__` key (a device may send any key in a dictionary)
/// becomes an own property, as with `JSON.parse`, never the object's prototype.
const CONVERTERS: &str = "(function () {\n\
    const NodeBuffer = Buffer;\n\
    function fill(object, entries, from) {\n\
        const bytes = entries[from - 1];\n\
        const data = bytes === undefined ? undefined : NodeBuffer.from(bytes, 'latin1');\n\
        let at = 0;\n\
        for (let i = from; i < entries.length; i += 2) {\n\
            let key = entries[i];\n\
            let value = entries[i + 1];\n\
            if (typeof key === 'number') {\n\
                key = value;\n\
                value = data.subarray(at, at += entries[i]);\n\
            }\n\
            if (key === '__proto__') {\n\
                Object.defineProperty(object, '__proto__', { value,\n\
                    writable: true, enumerable: true, configurable: true });\n\
            } else {\n\
                object[key] = value;\n\
            }\n\
        }\n\
        return object;\n\
    }\n\
    return [\n\
        function objectOf(...entries) { return fill({}, entries, 1); },\n\
        function checkinOf(...entries) {\n\
            return { messageType: entries[0], enrollmentId: entries[1], message: fill({}, entries, 3) };\n\
        },\n\
    ];\n\
})()";

/// The arguments of one call of a [`CONVERTERS`] function, any number of them.
struct Entries(Vec<napi::sys::napi_value>);

impl JsValuesTupleIntoVec for Entries {
    fn into_vec(self, _env: napi::sys::napi_env) -> napi::Result<Vec<napi::sys::napi_value>> {
        Ok(self.0)
    }
}

type Converter = FunctionRef<Entries, Unknown<'static>>;

/// What this module keeps per Node environment (main thread or worker): the functions of
/// [`CONVERTERS`], compiled once.
struct Instance {
    object_of: Converter,
    checkin_of: Converter,
}

/// This environment's [`Instance`], compiled on first use.
fn instance(env: &Env) -> napi::Result<&'static mut Instance> {
    if let Some(instance) = env.get_instance_data::<Instance>()? {
        return Ok(instance);
    }
    let functions: Object<'_> = env.run_script(CONVERTERS)?;
    let function = |index: u32| -> napi::Result<Converter> {
        functions
            .get_element::<Function<Entries, Unknown<'static>>>(index)?
            .create_ref()
    };
    let instance = Instance {
        object_of: function(0)?,
        checkin_of: function(1)?,
    };
    // The environment frees its references itself when it is torn down.
    env.set_instance_data(instance, (), |context| std::mem::forget(context.value))?;
    env.get_instance_data::<Instance>()?
        .ok_or_else(|| napi::Error::from_reason("the converters are not set up"))
}

/// Calls one of the [`CONVERTERS`] functions with `entries`.
fn convert<'env>(
    env: &'env Env,
    converter: &Converter,
    entries: &[Unknown<'env>],
) -> napi::Result<Object<'env>> {
    let function = converter.borrow_back(env)?;
    let made = function.call(Entries(entries.iter().map(|entry| entry.raw()).collect()))?;
    Ok(Object::from_raw(env.raw(), made.raw()))
}

/// A new plain object from `entries` (the data values' bytes or `undefined`, then key,
/// value, key, value…, keys as JavaScript strings: see [`push_entries`]), in order, made by
/// one call of `objectOf` ([`CONVERTERS`]) instead of one N-API call per property: about
/// 175 ns a property through N-API against one call for all (docs/node.md).
pub(crate) fn object_of<'env>(
    env: &'env Env,
    entries: Vec<Unknown<'env>>,
) -> napi::Result<Object<'env>> {
    convert(env, &instance(env)?.object_of, &entries)
}

/// A decoded check-in, `{ messageType, enrollmentId, message }`, with `message` made from
/// `dict` as [`dict_to_js`] makes it, both in one call of `checkinOf` ([`CONVERTERS`]).
pub(crate) fn checkin_object<'env>(
    env: &'env Env,
    message_type: &str,
    enrollment_id: &str,
    dict: &Dictionary,
) -> napi::Result<Object<'env>> {
    let mut entries = Vec::with_capacity(3 + 2 * dict.len());
    entries.push(message_type.into_unknown(env)?);
    entries.push(enrollment_id.into_unknown(env)?);
    push_entries(env, dict, &mut entries)?;
    convert(env, &instance(env)?.checkin_of, &entries)
}
