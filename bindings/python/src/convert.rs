//! Conversions between Python values and the Rust types the crates take: plist values,
//! times and errors. Nothing here knows about MDM.

use std::time::SystemTime;

use plist::{Dictionary, Value};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDateTime, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use time::{OffsetDateTime, UtcOffset};

/// An error of one of mdmkit's crates: a stable code and a message without secrets.
pub trait Coded: std::fmt::Display {
    /// The stable code.
    fn code(&self) -> &'static str;
}

macro_rules! coded {
    ($($t:ty),*) => {$(
        impl Coded for $t {
            fn code(&self) -> &'static str {
                <$t>::code(self)
            }
        }
    )*};
}
coded!(
    mdmkit_core::Error,
    mdmkit_apns::Error,
    mdmkit_certstore::Error,
    mdmkit_enrollment::Error,
    mdmkit_service::Error
);

static ERROR_FOR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The `mdmkit.MdmError` subclass for `code`, carrying `code` and `message`.
pub fn error(py: Python<'_>, code: &str, message: &str) -> PyErr {
    let make = ERROR_FOR.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("mdmkit.errors")?.getattr("_error_for")?.unbind())
    });
    match make.and_then(|f| f.bind(py).call1((code, message))) {
        Ok(exception) => PyErr::from_value(exception),
        Err(e) => e,
    }
}

/// Converts an error of the crates to its Python exception.
pub fn to_py<E: Coded>(e: E) -> PyErr {
    Python::attach(|py| error(py, e.code(), &e.to_string()))
}

/// `Result` of a crate → `PyResult`.
pub trait IntoPy<T> {
    /// Maps the error to its Python exception.
    fn py(self) -> PyResult<T>;
}

impl<T, E: Coded> IntoPy<T> for Result<T, E> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// A time as a timezone-aware UTC `datetime`.
pub fn datetime(py: Python<'_>, at: OffsetDateTime) -> PyResult<Bound<'_, PyAny>> {
    at.to_offset(UtcOffset::UTC)
        .into_pyobject(py)
        .map(Bound::into_any)
}

/// A timezone-aware `datetime` as a time (a naive one is refused: its zone is unknown).
pub fn from_datetime(value: &Bound<'_, PyAny>) -> PyResult<OffsetDateTime> {
    if value.getattr("tzinfo")?.is_none() {
        return Err(PyValueError::new_err(
            "naive datetime: give a timezone-aware datetime (for example datetime.now(timezone.utc))",
        ));
    }
    value.extract::<OffsetDateTime>()
}

/// A plist value as Python: str, bool, int, float, bytes, UTC datetime, list, dict.
pub fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Boolean(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Integer(i) => match (i.as_signed(), i.as_unsigned()) {
            (Some(v), _) => v.into_pyobject(py)?.into_any(),
            (None, Some(v)) => v.into_pyobject(py)?.into_any(),
            (None, None) => py.None().into_bound(py),
        },
        Value::Real(r) => PyFloat::new(py, *r).into_any(),
        Value::Data(d) => PyBytes::new(py, d).into_any(),
        Value::Date(d) => datetime(py, OffsetDateTime::from(SystemTime::from(*d)))?,
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Dictionary(dict) => dict_to_python(py, dict)?.into_any(),
        Value::Uid(uid) => uid.get().into_pyobject(py)?.into_any(),
        _ => py.None().into_bound(py),
    })
}

/// A plist dictionary as a Python dict, keys in the same order.
pub fn dict_to_python<'py>(py: Python<'py>, dict: &Dictionary) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    for (k, v) in dict {
        out.set_item(k, to_python(py, v)?)?;
    }
    Ok(out)
}

/// A Python value as a plist value. `path` names it in errors.
pub fn from_python(value: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    // bool before int: Python's bool is an int.
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Boolean(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Value::Integer(i.into()));
        }
        let u: u64 = value
            .extract()
            .map_err(|_| PyValueError::new_err(format!("{path}: integer out of range")))?;
        return Ok(Value::Integer(u.into()));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return Ok(Value::Real(f.value()));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(Value::Data(b.as_bytes().to_vec()));
    }
    if let Ok(b) = value.cast::<PyByteArray>() {
        return Ok(Value::Data(b.to_vec()));
    }
    if value.is_instance_of::<PyDateTime>() {
        let at = from_datetime(value).map_err(|e| prefix(value.py(), path, e))?;
        return Ok(Value::Date(SystemTime::from(at).into()));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        return Ok(Value::Dictionary(dict_from_python(d, path)?));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in value.try_iter()?.enumerate() {
            items.push(from_python(&item?, &format!("{path}[{i}]"))?);
        }
        return Ok(Value::Array(items));
    }
    Err(PyTypeError::new_err(format!(
        "{path}: cannot be a property list value (a {})",
        value.get_type().name()?
    )))
}

/// A Python dict with str keys as a plist dictionary.
pub fn dict_from_python(dict: &Bound<'_, PyDict>, path: &str) -> PyResult<Dictionary> {
    let mut out = Dictionary::new();
    for (k, v) in dict.iter() {
        let key: String = k
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("{path}: dictionary keys must be str")))?;
        let child = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        out.insert(key, from_python(&v, &child)?);
    }
    Ok(out)
}

fn prefix(py: Python<'_>, path: &str, e: PyErr) -> PyErr {
    PyValueError::new_err(format!("{path}: {}", e.value(py)))
}

/// A JSON value as Python (objects as dicts, in order).
pub fn json_to_python<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value as Json;
    Ok(match value {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u), _) => u.into_pyobject(py)?.into_any(),
            (_, _, f) => PyFloat::new(py, f.unwrap_or(f64::NAN)).into_any(),
        },
        Json::String(s) => PyString::new(py, s).into_any(),
        Json::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_python(py, item)?)?;
            }
            list.into_any()
        }
        Json::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_python(py, v)?)?;
            }
            dict.into_any()
        }
    })
}
