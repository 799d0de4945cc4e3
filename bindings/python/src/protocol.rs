//! The protocol, sans-IO: render a command, decode check-ins and results, the schema's
//! RequestTypes.

use mdmkit_core::command::{self, CommandEnvelope};
use mdmkit_core::{Checkin, CommandResult, PlistFormat};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::convert::{dict_from_python, dict_to_python, IntoPy};

fn format(name: &str) -> PyResult<PlistFormat> {
    match name {
        "xml" => Ok(PlistFormat::Xml),
        "binary" => Ok(PlistFormat::Binary),
        other => Err(PyValueError::new_err(format!(
            "format must be \"xml\" or \"binary\", not {other:?}"
        ))),
    }
}

/// Renders a command (a dict with Apple's key names, `RequestType` included) as the plist
/// a device is sent: `{CommandUUID, Command}`, checked strictly against Apple's schema.
#[pyfunction]
#[pyo3(signature = (command, command_uuid=None, format="xml"))]
pub fn render_command<'py>(
    py: Python<'py>,
    command: &Bound<'py, PyDict>,
    command_uuid: Option<String>,
    format: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let plist_format = self::format(format)?;
    let dict = dict_from_python(command, "")?;
    let typed = command::command_from_dictionary(dict).py()?;
    let envelope = match command_uuid {
        Some(uuid) => CommandEnvelope::with_uuid(uuid, typed),
        None => CommandEnvelope::new(typed),
    };
    let bytes = py.detach(|| envelope.encode(plist_format)).py()?;
    Ok(PyBytes::new(py, &bytes))
}

/// A decoded check-in message.
#[pyclass(module = "mdmkit", frozen, name = "Checkin")]
pub struct PyCheckin(Checkin);

#[pymethods]
impl PyCheckin {
    /// The MessageType (`Authenticate`, `TokenUpdate`, ...).
    #[getter]
    fn message_type(&self) -> &'static str {
        self.0.message.message_type()
    }

    /// The enrollment it comes from (the UDID, or `UDID:UserID` for a user channel).
    #[getter]
    fn enrollment_id(&self) -> &str {
        self.0.enrollment_id.as_str()
    }

    /// The message as a dict with Apple's key names (`MessageType` first).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict_to_python(py, &self.0.message.to_dictionary())
    }

    fn __repr__(&self) -> String {
        // Key names only: values may be secrets (UnlockToken, PushMagic, BootstrapToken).
        let keys: Vec<String> = self.0.message.to_dictionary().keys().cloned().collect();
        format!(
            "Checkin(message_type={:?}, enrollment_id={:?}, keys={:?})",
            self.0.message.message_type(),
            self.0.enrollment_id.as_str(),
            keys
        )
    }
}

/// Decodes a check-in body (XML or binary plist) a device sent.
#[pyfunction]
pub fn decode_checkin(py: Python<'_>, body: &[u8]) -> PyResult<PyCheckin> {
    py.detach(|| Checkin::decode(body)).py().map(PyCheckin)
}

/// A decoded command result (or Idle report).
#[pyclass(module = "mdmkit", frozen, name = "CommandResult")]
pub struct PyCommandResult(CommandResult);

#[pymethods]
impl PyCommandResult {
    /// `Acknowledged`, `Error`, `CommandFormatError`, `NotNow` or `Idle`.
    #[getter]
    fn status(&self) -> &'static str {
        self.0.status.as_str()
    }

    /// The command it answers (`None` for Idle).
    #[getter]
    fn command_uuid(&self) -> Option<&str> {
        self.0.command_uuid.as_deref()
    }

    /// The RequestType answered, when known.
    #[getter]
    fn request_type(&self) -> Option<&str> {
        self.0.request_type.as_deref()
    }

    /// The enrollment that sent it.
    #[getter]
    fn enrollment_id(&self) -> &str {
        self.0.enrollment_id.as_str()
    }

    /// The `ErrorChain` entries, as dicts with Apple's key names.
    #[getter]
    fn error_chain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self.0.to_dictionary();
        let list = PyList::empty(py);
        if let Some(plist::Value::Array(chain)) = items.get("ErrorChain") {
            for item in chain {
                list.append(crate::convert::to_python(py, item)?)?;
            }
        }
        Ok(list)
    }

    /// The result as a dict with Apple's key names, as the device sent it.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict_to_python(py, &self.0.to_dictionary())
    }

    fn __repr__(&self) -> String {
        let keys: Vec<String> = self.0.to_dictionary().keys().cloned().collect();
        format!(
            "CommandResult(status={:?}, command_uuid={:?}, request_type={:?}, keys={:?})",
            self.0.status.as_str(),
            self.0.command_uuid,
            self.0.request_type,
            keys
        )
    }
}

/// Decodes a command result body; `request_type` types the answer when the device does not
/// say which command it answers.
#[pyfunction]
#[pyo3(signature = (body, request_type=None))]
pub fn decode_result(
    py: Python<'_>,
    body: &[u8],
    request_type: Option<&str>,
) -> PyResult<PyCommandResult> {
    py.detach(|| CommandResult::decode(body, request_type))
        .py()
        .map(PyCommandResult)
}

/// One RequestType of Apple's schema.
#[pyclass(module = "mdmkit", frozen, get_all, name = "RequestType")]
pub struct PyRequestType {
    /// The RequestType.
    name: &'static str,
    /// The schema's title.
    title: &'static str,
    /// The platforms that support it (`iOS`, `macOS`, `tvOS`, `visionOS`, `watchOS`).
    platforms: Vec<&'static str>,
}

#[pymethods]
impl PyRequestType {
    fn __repr__(&self) -> String {
        format!(
            "RequestType(name={:?}, platforms={:?})",
            self.name, self.platforms
        )
    }
}

fn request_type_of(info: &'static mdmkit_core::schema::MessageInfo) -> PyRequestType {
    PyRequestType {
        name: info.name,
        title: info.title,
        platforms: info.platforms.iter().map(|p| p.platform.as_str()).collect(),
    }
}

/// Every RequestType of Apple's schema, in order, with its platforms.
#[pyfunction]
pub fn request_types() -> Vec<PyRequestType> {
    command::COMMANDS
        .iter()
        .copied()
        .map(request_type_of)
        .collect()
}

/// One RequestType of Apple's schema; `UnknownRequestType` when it has none of that name.
#[pyfunction]
pub fn request_type(name: &str) -> PyResult<PyRequestType> {
    command::command_info(name)
        .ok_or_else(|| mdmkit_core::Error::UnknownRequestType(name.to_owned()))
        .py()
        .map(request_type_of)
}
