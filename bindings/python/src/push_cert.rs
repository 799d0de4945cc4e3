//! Push certificates without a store: inspect one, vendor-sign a request.

use mdmkit_apns::{CertificateRequest, VendorFiles, VendorSigner};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::IntoPy;
use crate::records::CertificateInfo;

/// Reads a push certificate: PEM (a certificate, a chain, possibly with its key), DER or
/// PKCS#12 (with `password`). Nothing is stored.
#[pyfunction]
#[pyo3(signature = (data, password=None))]
pub fn inspect_push_certificate(
    py: Python<'_>,
    data: &[u8],
    password: Option<&str>,
) -> PyResult<CertificateInfo> {
    py.detach(|| mdmkit_service::push_certs::inspect(data, password))
        .py()
        .map(CertificateInfo::from)
}

/// Signs a customer's CSR (PEM or DER) with an MDM vendor certificate: returns the
/// request file (XML plist) to upload to Apple's Push Certificates Portal.
#[pyfunction]
#[pyo3(signature = (csr, vendor_certificate, vendor_key, wwdr_certificate, apple_root_certificate, vendor_key_password=None))]
pub fn vendor_sign_request<'py>(
    py: Python<'py>,
    csr: &[u8],
    vendor_certificate: Vec<u8>,
    vendor_key: Vec<u8>,
    wwdr_certificate: Vec<u8>,
    apple_root_certificate: Vec<u8>,
    vendor_key_password: Option<String>,
) -> PyResult<Bound<'py, PyBytes>> {
    let files = VendorFiles {
        vendor_certificate,
        vendor_key,
        vendor_key_password,
        wwdr_certificate,
        apple_root_certificate,
    };
    let xml = py
        .detach(|| {
            let signer = VendorSigner::from_files(&files)?;
            signer
                .sign(&CertificateRequest::parse(csr)?)?
                .to_plist_xml()
        })
        .py()?;
    Ok(PyBytes::new(py, &xml))
}
