//! Configuration profiles: build from a spec, validate, write, sign, verify, encrypt.

use mdmkit_core::json::plist_to_json;
use mdmkit_core::profile::{self, Profile, SigningIdentity};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::convert::{dict_to_python, from_python, IntoPy};

/// A configuration profile (`.mobileconfig`).
#[pyclass(module = "mdmkit", frozen, name = "Profile")]
pub struct PyProfile(pub Profile);

#[pymethods]
impl PyProfile {
    /// Builds a profile from a dict with Apple's key names (top-level keys and a
    /// `PayloadContent` list of payload dicts); UUIDs, versions and payload identifiers may
    /// be left out. Validated before it is returned.
    #[staticmethod]
    fn from_spec(spec: &Bound<'_, PyDict>) -> PyResult<Self> {
        let json = plist_to_json(&from_python(spec.as_any(), "Profile")?);
        Profile::from_json_spec(&json).py().map(Self)
    }

    /// Reads a `.mobileconfig` (XML or binary plist, not signed; see `verify_profile`).
    #[staticmethod]
    fn read(data: &[u8]) -> PyResult<Self> {
        Profile::read_maybe_encrypted(data).py().map(Self)
    }

    /// `PayloadIdentifier`.
    #[getter]
    fn identifier(&self) -> &str {
        &self.0.identifier
    }

    /// `PayloadUUID`.
    #[getter]
    fn uuid(&self) -> &str {
        &self.0.uuid
    }

    /// The payload types, in order (empty when the payloads are encrypted).
    #[getter]
    fn payload_types(&self) -> Vec<String> {
        self.0
            .payloads
            .iter()
            .map(|p| p.payload_type().to_owned())
            .collect()
    }

    /// Whether the payloads are encrypted to a device.
    #[getter]
    fn is_encrypted(&self) -> bool {
        self.0.is_encrypted()
    }

    /// Checks the profile's rules (identifiers, references between payloads, ...).
    fn validate(&self) -> PyResult<()> {
        self.0.validate().py()
    }

    /// The profile as an XML plist: the content of a `.mobileconfig` file.
    fn to_xml<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.0.to_xml().py()?))
    }

    /// The profile as a dict with Apple's key names.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict_to_python(py, &self.0.to_dictionary())
    }

    /// Signs the profile (CMS, DER) with a certificate and its unencrypted private key
    /// (PEM or DER), optionally with intermediate certificates.
    #[pyo3(signature = (certificate, key, chain=None))]
    fn sign<'py>(
        &self,
        py: Python<'py>,
        certificate: &[u8],
        key: &[u8],
        chain: Option<&[u8]>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let signed = py
            .detach(|| {
                profile::sign(
                    &self.0,
                    &SigningIdentity::from_bytes(certificate, key, chain)?,
                )
            })
            .py()?;
        Ok(PyBytes::new(py, &signed))
    }

    /// The profile with its payloads encrypted to a device's certificate (PEM or DER, RSA).
    fn encrypt(&self, py: Python<'_>, recipient: &[u8]) -> PyResult<Self> {
        py.detach(|| profile::encrypt(&self.0, recipient))
            .py()
            .map(Self)
    }

    fn __repr__(&self) -> String {
        format!(
            "Profile(identifier={:?}, payload_types={:?}, encrypted={})",
            self.0.identifier,
            self.payload_types(),
            self.0.is_encrypted()
        )
    }
}

/// A signed profile whose signature verified.
#[pyclass(module = "mdmkit", frozen, name = "VerifiedProfile")]
pub struct PyVerifiedProfile(profile::VerifiedProfile);

#[pymethods]
impl PyVerifiedProfile {
    /// The profile inside.
    #[getter]
    fn profile(&self) -> PyProfile {
        PyProfile(self.0.profile.clone())
    }

    /// The signer certificate's subject.
    #[getter]
    fn signer_subject(&self) -> &str {
        &self.0.signer_subject
    }

    /// The signer certificate, DER.
    #[getter]
    fn signer_certificate<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.signer_der)
    }

    fn __repr__(&self) -> String {
        format!(
            "VerifiedProfile(identifier={:?}, signer_subject={:?})",
            self.0.profile.identifier, self.0.signer_subject
        )
    }
}

/// Verifies a signed profile; with `trusted` roots (PEM or DER) its signer must chain to one.
#[pyfunction]
#[pyo3(signature = (signed, trusted=None))]
pub fn verify_profile(
    py: Python<'_>,
    signed: &[u8],
    trusted: Option<&[u8]>,
) -> PyResult<PyVerifiedProfile> {
    py.detach(|| profile::verify(signed, trusted))
        .py()
        .map(PyVerifiedProfile)
}
