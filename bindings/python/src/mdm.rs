//! The `Mdm` handle over the service crate: settings, push certificates, devices and
//! their actions, enrollment and invitations, and the sans-IO MDM endpoint.
//!
//! Blocking calls run on one tokio runtime with the GIL released; the `*_async` handles
//! return asyncio awaitables for pushes and device actions.

use std::future::Future;
use std::time::Duration;

use mdmkit_core::json::plist_to_json;
use mdmkit_service::{self as service, InstallInput, Mdm, MdmConfig, MdmRequestParts};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use pyo3::IntoPyObjectExt;

use crate::convert::{from_python, IntoPy};
use crate::records::{self, *};

/// Runs a future of the service on the runtime, without the GIL.
pub(crate) fn block<T: Send, F, Fut>(py: Python<'_>, make: F) -> PyResult<T>
where
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = service::Result<T>>,
{
    py.detach(|| pyo3_async_runtimes::tokio::get_runtime().block_on(make()))
        .py()
}

/// An asyncio awaitable of a future of the service.
fn awaitable<'py, T, F>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = service::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    crate::awaitable::awaitable_with(py, future, |py, output| output.py()?.into_py_any(py))
}

/// A command dict (Apple's key names, `RequestType` included) as the JSON the service takes.
fn command_json(command: &Bound<'_, PyDict>) -> PyResult<String> {
    Ok(plist_to_json(&from_python(command.as_any(), "")?).to_string())
}

/// Opens a deployment's store: an SQLite file (path or `sqlite:` URL), or `memory:`.
/// `key` is the at-rest key (64 hex digits; required for SQLite). `settings` override stored
/// settings for this handle only.
#[pyfunction]
#[pyo3(signature = (store_url, key=None, settings=None))]
pub fn open(
    py: Python<'_>,
    store_url: String,
    key: Option<String>,
    settings: Option<Vec<(String, String)>>,
) -> PyResult<PyMdm> {
    let mut config = MdmConfig::new(store_url);
    if let Some(key) = key {
        config = config.key_hex(key);
    }
    for (name, value) in settings.unwrap_or_default() {
        config = config.setting(name, value);
    }
    block(py, move || Mdm::open(config)).map(|mdm| PyMdm { mdm })
}

/// The handle on one mdmkit deployment.
#[pyclass(module = "mdmkit", frozen, name = "Mdm")]
pub struct PyMdm {
    mdm: Mdm,
}

#[pymethods]
impl PyMdm {
    /// The settings kept in the store.
    #[getter]
    fn settings(&self) -> SettingsHandle {
        SettingsHandle {
            settings: self.mdm.settings(),
        }
    }

    /// Push certificates: CSR, vendor signing, install and renew, status, history.
    #[getter]
    fn push_certs(&self) -> PushCerts {
        PushCerts {
            certs: self.mdm.push_certs(),
        }
    }

    /// Devices, their actions, queues and command results (blocking calls).
    #[getter]
    fn devices(&self) -> Devices {
        Devices {
            devices: self.mdm.devices(),
            mdm: self.mdm.clone(),
        }
    }

    /// Device actions as asyncio awaitables.
    #[getter]
    fn devices_async(&self) -> AsyncDevices {
        AsyncDevices {
            devices: self.mdm.devices(),
        }
    }

    /// Expiry of every credential: the dashboard and the e-mail notices.
    #[getter]
    fn expiry(&self) -> ExpiryHandle {
        ExpiryHandle {
            expiry: self.mdm.expiry(),
        }
    }

    /// Administrators' accounts and sessions.
    #[getter]
    fn admins(&self) -> crate::portal::Admins {
        crate::portal::Admins {
            admins: self.mdm.admins(),
        }
    }

    /// The self-service portal: sign-in, sessions, and what a signed-in user may do.
    #[getter]
    fn portal(&self) -> crate::portal::Portal {
        crate::portal::Portal {
            portal: self.mdm.portal(),
        }
    }

    /// Users' certificates (PKCS#12) and the kinds they may upload, for administrators.
    #[getter]
    fn user_certs(&self) -> crate::portal::UserCertificates {
        crate::portal::UserCertificates {
            certs: self.mdm.user_certs(),
        }
    }

    /// Enrollment: init, the device CA, links, profiles, invitations.
    #[getter]
    fn enrollment(&self) -> EnrollmentHandle {
        EnrollmentHandle {
            enrollment: self.mdm.enrollment(),
        }
    }

    /// The MDM endpoint, sans-IO: a device's request in, the answer out. `path` ending in
    /// `/checkin` is the check-in endpoint; anything else the combined endpoint.
    #[pyo3(signature = (method, path, headers, body, peer_certificate=None))]
    fn handle(
        &self,
        py: Python<'_>,
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        peer_certificate: Option<Vec<u8>>,
    ) -> PyResult<MdmResponse> {
        let request = request(method, path, headers, body, peer_certificate);
        let mdm = self.mdm.clone();
        let response = block(py, move || async move { mdm.handle(request).await })?;
        Ok(MdmResponse::new(py, response))
    }

    /// `handle` as an asyncio awaitable (for ASGI frameworks).
    #[pyo3(signature = (method, path, headers, body, peer_certificate=None))]
    fn handle_async<'py>(
        &self,
        py: Python<'py>,
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        peer_certificate: Option<Vec<u8>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = request(method, path, headers, body, peer_certificate);
        let mdm = self.mdm.clone();
        crate::awaitable::awaitable_with(
            py,
            async move { mdm.handle(request).await },
            |py, response| MdmResponse::new(py, response.py()?).into_py_any(py),
        )
    }

    /// The portal's branding; `None` until an administrator sets it.
    fn branding(&self, py: Python<'_>) -> PyResult<Option<PortalBranding>> {
        let mdm = self.mdm.clone();
        let branding = block(py, move || async move { mdm.branding().await })?;
        Ok(branding.map(|b| PortalBranding::new(py, b)))
    }

    /// Sets the portal's branding (audited as `admin`): a name, optional `#RRGGBB`
    /// colours and an optional logo (PNG, JPEG or SVG bytes, at most 512 KiB). Bad input
    /// is `InvalidInput` and stores nothing. Returns what was stored.
    #[pyo3(signature = (name, primary_colour=None, accent_colour=None, logo=None))]
    fn set_branding(
        &self,
        py: Python<'_>,
        name: String,
        primary_colour: Option<String>,
        accent_colour: Option<String>,
        logo: Option<Vec<u8>>,
    ) -> PyResult<PortalBranding> {
        let mdm = self.mdm.clone();
        let branding = block(py, move || async move {
            mdm.set_branding(
                &name,
                primary_colour.as_deref(),
                accent_colour.as_deref(),
                logo,
            )
            .await
        })?;
        Ok(PortalBranding::new(py, branding))
    }

    fn __repr__(&self) -> &'static str {
        "Mdm(...)"
    }
}

fn request(
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    peer_certificate: Option<Vec<u8>>,
) -> MdmRequestParts {
    let mut request = MdmRequestParts::new(method, path, body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if let Some(der) = peer_certificate {
        request = request.peer_certificate(der);
    }
    request
}

/// The settings of a deployment (`Mdm.settings`).
#[pyclass(module = "mdmkit", frozen, name = "Settings")]
pub struct SettingsHandle {
    settings: service::Settings,
}

#[pymethods]
impl SettingsHandle {
    /// Every known setting; secret values are never shown.
    fn list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let settings = self.settings.clone();
        let entries = block(py, move || async move { settings.list().await })?;
        records::list::<_, Setting>(py, entries)
    }

    /// A setting's value (`None` when unset).
    fn get(&self, py: Python<'_>, name: String) -> PyResult<Option<String>> {
        let settings = self.settings.clone();
        block(py, move || async move { settings.get(&name).await })
    }

    /// Stores a setting (checked; secrets sealed at rest).
    fn set(&self, py: Python<'_>, name: String, value: String) -> PyResult<()> {
        let settings = self.settings.clone();
        block(py, move || async move { settings.set(&name, &value).await })
    }

    /// Removes a setting; returns whether it was set.
    fn unset(&self, py: Python<'_>, name: String) -> PyResult<bool> {
        let settings = self.settings.clone();
        block(py, move || async move { settings.unset(&name).await })
    }
}

/// Push certificates of a deployment (`Mdm.push_certs`).
#[pyclass(module = "mdmkit", frozen)]
pub struct PushCerts {
    certs: service::PushCerts,
}

#[pymethods]
impl PushCerts {
    /// Reads a certificate file (PEM, DER, or PKCS#12 with its password); stores nothing.
    #[pyo3(signature = (data, password=None))]
    fn inspect(&self, data: &[u8], password: Option<&str>) -> PyResult<CertificateInfo> {
        self.certs
            .inspect(data, password)
            .py()
            .map(CertificateInfo::from)
    }

    /// Step 1: a new key (kept, sealed, in the store) and its CSR (PEM) for the vendor.
    #[pyo3(signature = (email, common_name=None))]
    fn create_request(
        &self,
        py: Python<'_>,
        email: String,
        common_name: Option<String>,
    ) -> PyResult<String> {
        let certs = self.certs.clone();
        block(py, move || async move {
            certs.create_request(&email, common_name.as_deref()).await
        })
    }

    /// Step 1 when this deployment is the MDM vendor: key, CSR and vendor signature at
    /// once; returns the file to upload to Apple's Push Certificates Portal (base64).
    #[pyo3(signature = (email, vendor_certificate, vendor_key, wwdr_certificate, apple_root_certificate, vendor_key_password=None, common_name=None))]
    #[allow(clippy::too_many_arguments)]
    fn create_signed_request(
        &self,
        py: Python<'_>,
        email: String,
        vendor_certificate: Vec<u8>,
        vendor_key: Vec<u8>,
        wwdr_certificate: Vec<u8>,
        apple_root_certificate: Vec<u8>,
        vendor_key_password: Option<String>,
        common_name: Option<String>,
    ) -> PyResult<String> {
        let certs = self.certs.clone();
        let mut vendor = service::push_certs::VendorInput::default();
        vendor.certificate = vendor_certificate;
        vendor.key = vendor_key;
        vendor.key_password = vendor_key_password;
        vendor.wwdr_certificate = wwdr_certificate;
        vendor.apple_root_certificate = apple_root_certificate;
        block(py, move || async move {
            certs
                .create_signed_request(&email, common_name.as_deref(), &vendor)
                .await
        })
    }

    /// Step 3: installs Apple's certificate (first install or renewal of the same topic),
    /// with the Apple ID used and a note. Nothing is stored when it is refused.
    #[pyo3(signature = (certificate, apple_id, note=None, password=None, key=None))]
    fn install(
        &self,
        py: Python<'_>,
        certificate: Vec<u8>,
        apple_id: String,
        note: Option<String>,
        password: Option<String>,
        key: Option<Vec<u8>>,
    ) -> PyResult<InstallReport> {
        let mut input = InstallInput::new(certificate, apple_id);
        input.note = note;
        input.password = password;
        input.key_pem = key;
        let certs = self.certs.clone();
        block(py, move || async move { certs.install(input).await }).map(InstallReport::from)
    }

    /// Every registered certificate with its days remaining and status, by topic.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let certs = self.certs.clone();
        let status = block(py, move || async move { certs.status().await })?;
        records::list::<_, PushCertStatus>(py, status)
    }

    /// Changes the Apple ID and/or the note of a registered certificate.
    #[pyo3(signature = (topic, apple_id=None, note=None))]
    fn edit(
        &self,
        py: Python<'_>,
        topic: String,
        apple_id: Option<String>,
        note: Option<String>,
    ) -> PyResult<PushCertStatus> {
        let certs = self.certs.clone();
        block(py, move || async move {
            certs.edit(&topic, apple_id, note).await
        })
        .map(PushCertStatus::from)
    }

    /// Deletes a topic's certificate and key; the note is kept and returned.
    fn delete(&self, py: Python<'_>, topic: String) -> PyResult<Option<String>> {
        let certs = self.certs.clone();
        block(py, move || async move { certs.delete(&topic).await })
    }

    /// A topic's history, oldest first.
    fn history<'py>(&self, py: Python<'py>, topic: String) -> PyResult<Bound<'py, PyList>> {
        let certs = self.certs.clone();
        let history = block(py, move || async move { certs.history(&topic).await })?;
        records::list::<_, HistoryEntry>(py, history)
    }

    /// Enrollments whose topic differs from every registered certificate's.
    fn mismatched_enrollments<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let certs = self.certs.clone();
        let entries = block(
            py,
            move || async move { certs.mismatched_enrollments().await },
        )?;
        records::list::<_, TopicMismatchEntry>(py, entries)
    }
}

/// Devices of a deployment (`Mdm.devices`): blocking calls, the GIL released.
#[pyclass(module = "mdmkit", frozen)]
pub struct Devices {
    devices: service::Devices,
    mdm: Mdm,
}

#[pymethods]
impl Devices {
    /// A page of at most `limit` devices after the cursor `after`, optionally of one owner.
    #[pyo3(signature = (owner=None, after=None, limit=100))]
    fn list(
        &self,
        py: Python<'_>,
        owner: Option<String>,
        after: Option<String>,
        limit: u32,
    ) -> PyResult<DevicePage> {
        let d = self.devices.clone();
        let page = block(py, move || async move {
            d.list(owner.as_deref(), after.as_deref(), limit).await
        })?;
        DevicePage::new(py, page)
    }

    /// One device; `NotFound` when unknown.
    fn get(&self, py: Python<'_>, enrollment_id: String) -> PyResult<Device> {
        let d = self.devices.clone();
        block(py, move || async move { d.get(&enrollment_id).await }).map(Device::from)
    }

    /// Locks the device, with an optional message, phone number, and a Mac's PIN.
    #[pyo3(signature = (enrollment_id, message=None, phone_number=None, pin=None))]
    fn lock(
        &self,
        py: Python<'_>,
        enrollment_id: String,
        message: Option<String>,
        phone_number: Option<String>,
        pin: Option<String>,
    ) -> PyResult<ActionOutcome> {
        let d = self.devices.clone();
        block(py, move || async move {
            d.lock(&enrollment_id, message, phone_number, pin).await
        })
        .map(ActionOutcome::from)
    }

    /// Clears the passcode (with the stored UnlockToken).
    fn unlock(&self, py: Python<'_>, enrollment_id: String) -> PyResult<ActionOutcome> {
        let d = self.devices.clone();
        block(py, move || async move { d.unlock(&enrollment_id).await }).map(ActionOutcome::from)
    }

    /// Asks a device in Lost Mode for its location.
    fn locate(&self, py: Python<'_>, enrollment_id: String) -> PyResult<ActionOutcome> {
        let d = self.devices.clone();
        block(py, move || async move { d.locate(&enrollment_id).await }).map(ActionOutcome::from)
    }

    /// Erases the device (a Mac needs a six-digit PIN).
    #[pyo3(signature = (enrollment_id, pin=None))]
    fn wipe(
        &self,
        py: Python<'_>,
        enrollment_id: String,
        pin: Option<String>,
    ) -> PyResult<ActionOutcome> {
        let d = self.devices.clone();
        block(py, move || async move { d.wipe(&enrollment_id, pin).await }).map(ActionOutcome::from)
    }

    /// Removes the device from management.
    fn retire(&self, py: Python<'_>, enrollment_id: String) -> PyResult<ActionOutcome> {
        let d = self.devices.clone();
        block(py, move || async move { d.retire(&enrollment_id).await }).map(ActionOutcome::from)
    }

    /// Enables Lost Mode with a message and/or phone number and footnote.
    #[pyo3(signature = (enrollment_id, message=None, phone_number=None, footnote=None))]
    fn enable_lost_mode(
        &self,
        py: Python<'_>,
        enrollment_id: String,
        message: Option<String>,
        phone_number: Option<String>,
        footnote: Option<String>,
    ) -> PyResult<ActionOutcome> {
        let d = self.devices.clone();
        block(py, move || async move {
            d.enable_lost_mode(&enrollment_id, message, phone_number, footnote)
                .await
        })
        .map(ActionOutcome::from)
    }

    /// Disables Lost Mode.
    fn disable_lost_mode(&self, py: Python<'_>, enrollment_id: String) -> PyResult<ActionOutcome> {
        let d = self.devices.clone();
        block(py, move || async move {
            d.disable_lost_mode(&enrollment_id).await
        })
        .map(ActionOutcome::from)
    }

    /// Pushes the device so it checks in now (queues nothing).
    fn check_in_now(&self, py: Python<'_>, enrollment_id: String) -> PyResult<ActionOutcome> {
        let d = self.devices.clone();
        block(
            py,
            move || async move { d.check_in_now(&enrollment_id).await },
        )
        .map(ActionOutcome::from)
    }

    /// Asks for DeviceInformation keys (Apple's names); empty: the usual set.
    #[pyo3(signature = (enrollment_id, queries=Vec::new()))]
    fn device_information(
        &self,
        py: Python<'_>,
        enrollment_id: String,
        queries: Vec<String>,
    ) -> PyResult<ActionOutcome> {
        let d = self.devices.clone();
        block(py, move || async move {
            d.device_information(&enrollment_id, queries).await
        })
        .map(ActionOutcome::from)
    }

    /// Installs a profile (`.mobileconfig` bytes, signed or not).
    fn install_profile(
        &self,
        py: Python<'_>,
        enrollment_id: String,
        profile: Vec<u8>,
    ) -> PyResult<ActionOutcome> {
        let d = self.devices.clone();
        block(py, move || async move {
            d.install_profile(&enrollment_id, profile).await
        })
        .map(ActionOutcome::from)
    }

    /// Removes the profile with this PayloadIdentifier.
    fn remove_profile(
        &self,
        py: Python<'_>,
        enrollment_id: String,
        identifier: String,
    ) -> PyResult<ActionOutcome> {
        let d = self.devices.clone();
        block(py, move || async move {
            d.remove_profile(&enrollment_id, &identifier).await
        })
        .map(ActionOutcome::from)
    }

    /// Queues any command given as a dict with Apple's key names (`RequestType` included),
    /// checked against Apple's schema and the device, and pushes the device.
    fn enqueue(
        &self,
        py: Python<'_>,
        enrollment_id: String,
        command: &Bound<'_, PyDict>,
    ) -> PyResult<ActionOutcome> {
        let json = command_json(command)?;
        let d = self.devices.clone();
        block(py, move || async move {
            d.enqueue_json(&enrollment_id, &json).await
        })
        .map(ActionOutcome::from)
    }

    /// Queues one command (a dict with Apple's key names) to many devices, stored once,
    /// and pushes them. Devices that cannot run it are refused with their code (the others
    /// are queued); a command Apple's schema refuses raises before anything is queued.
    fn enqueue_many(
        &self,
        py: Python<'_>,
        enrollment_ids: Vec<String>,
        command: &Bound<'_, PyDict>,
    ) -> PyResult<BulkOutcome> {
        let dictionary = from_python(command.as_any(), "")?;
        let command = match dictionary {
            plist::Value::Dictionary(dict) => {
                mdmkit_core::command::command_from_dictionary(dict).py()?
            }
            _ => {
                return Err(service::Error::InvalidInput(
                    "the command must be a dict".into(),
                ))
                .py()
            }
        };
        let mdm = self.mdm.clone();
        block(py, move || async move {
            let ids: Vec<mdmkit_core::EnrollmentId> = enrollment_ids
                .into_iter()
                .map(mdmkit_core::EnrollmentId::new)
                .collect();
            Ok(mdm
                .engine()?
                .enqueue_command_many(&ids, command, None)
                .await?)
        })
        .map(BulkOutcome::from)
    }

    /// The commands waiting in a device's queue, in delivery order.
    fn queue<'py>(&self, py: Python<'py>, enrollment_id: String) -> PyResult<Bound<'py, PyList>> {
        let d = self.devices.clone();
        let pending = block(py, move || async move { d.queue(&enrollment_id).await })?;
        records::list::<_, PendingCommand>(py, pending)
    }

    /// A command's state on each device it was queued to, with the decoded answers.
    fn command_status<'py>(
        &self,
        py: Python<'py>,
        command_uuid: String,
    ) -> PyResult<Bound<'py, PyList>> {
        let d = self.devices.clone();
        let statuses = block(
            py,
            move || async move { d.command_status(&command_uuid).await },
        )?;
        let list = PyList::empty(py);
        for status in statuses {
            list.append(Py::new(py, CommandStatus::new(py, status)?)?)?;
        }
        Ok(list)
    }
}

/// Device actions as asyncio awaitables (`Mdm.devices_async`).
#[pyclass(module = "mdmkit", frozen)]
pub struct AsyncDevices {
    devices: service::Devices,
}

fn outcome(result: service::Result<service::ActionOutcome>) -> service::Result<ActionOutcome> {
    result.map(ActionOutcome::from)
}

#[pymethods]
impl AsyncDevices {
    /// `Devices.lock`, awaitable.
    #[pyo3(signature = (enrollment_id, message=None, phone_number=None, pin=None))]
    fn lock<'py>(
        &self,
        py: Python<'py>,
        enrollment_id: String,
        message: Option<String>,
        phone_number: Option<String>,
        pin: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let d = self.devices.clone();
        awaitable(py, async move {
            outcome(d.lock(&enrollment_id, message, phone_number, pin).await)
        })
    }

    /// `Devices.unlock`, awaitable.
    fn unlock<'py>(&self, py: Python<'py>, enrollment_id: String) -> PyResult<Bound<'py, PyAny>> {
        let d = self.devices.clone();
        awaitable(py, async move { outcome(d.unlock(&enrollment_id).await) })
    }

    /// `Devices.locate`, awaitable.
    fn locate<'py>(&self, py: Python<'py>, enrollment_id: String) -> PyResult<Bound<'py, PyAny>> {
        let d = self.devices.clone();
        awaitable(py, async move { outcome(d.locate(&enrollment_id).await) })
    }

    /// `Devices.wipe`, awaitable.
    #[pyo3(signature = (enrollment_id, pin=None))]
    fn wipe<'py>(
        &self,
        py: Python<'py>,
        enrollment_id: String,
        pin: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let d = self.devices.clone();
        awaitable(
            py,
            async move { outcome(d.wipe(&enrollment_id, pin).await) },
        )
    }

    /// `Devices.retire`, awaitable.
    fn retire<'py>(&self, py: Python<'py>, enrollment_id: String) -> PyResult<Bound<'py, PyAny>> {
        let d = self.devices.clone();
        awaitable(py, async move { outcome(d.retire(&enrollment_id).await) })
    }

    /// `Devices.enable_lost_mode`, awaitable.
    #[pyo3(signature = (enrollment_id, message=None, phone_number=None, footnote=None))]
    fn enable_lost_mode<'py>(
        &self,
        py: Python<'py>,
        enrollment_id: String,
        message: Option<String>,
        phone_number: Option<String>,
        footnote: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let d = self.devices.clone();
        awaitable(py, async move {
            outcome(
                d.enable_lost_mode(&enrollment_id, message, phone_number, footnote)
                    .await,
            )
        })
    }

    /// `Devices.disable_lost_mode`, awaitable.
    fn disable_lost_mode<'py>(
        &self,
        py: Python<'py>,
        enrollment_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let d = self.devices.clone();
        awaitable(py, async move {
            outcome(d.disable_lost_mode(&enrollment_id).await)
        })
    }

    /// `Devices.check_in_now` (a push), awaitable.
    fn check_in_now<'py>(
        &self,
        py: Python<'py>,
        enrollment_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let d = self.devices.clone();
        awaitable(
            py,
            async move { outcome(d.check_in_now(&enrollment_id).await) },
        )
    }

    /// `Devices.device_information`, awaitable.
    #[pyo3(signature = (enrollment_id, queries=Vec::new()))]
    fn device_information<'py>(
        &self,
        py: Python<'py>,
        enrollment_id: String,
        queries: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let d = self.devices.clone();
        awaitable(py, async move {
            outcome(d.device_information(&enrollment_id, queries).await)
        })
    }

    /// `Devices.install_profile`, awaitable.
    fn install_profile<'py>(
        &self,
        py: Python<'py>,
        enrollment_id: String,
        profile: Vec<u8>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let d = self.devices.clone();
        awaitable(py, async move {
            outcome(d.install_profile(&enrollment_id, profile).await)
        })
    }

    /// `Devices.remove_profile`, awaitable.
    fn remove_profile<'py>(
        &self,
        py: Python<'py>,
        enrollment_id: String,
        identifier: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let d = self.devices.clone();
        awaitable(py, async move {
            outcome(d.remove_profile(&enrollment_id, &identifier).await)
        })
    }

    /// `Devices.enqueue`, awaitable.
    fn enqueue<'py>(
        &self,
        py: Python<'py>,
        enrollment_id: String,
        command: &Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let json = command_json(command)?;
        let d = self.devices.clone();
        awaitable(py, async move {
            outcome(d.enqueue_json(&enrollment_id, &json).await)
        })
    }
}

/// Enrollment of a deployment (`Mdm.enrollment`).
#[pyclass(module = "mdmkit", frozen, name = "Enrollment")]
pub struct EnrollmentHandle {
    enrollment: service::Enrollment,
}

#[pymethods]
impl EnrollmentHandle {
    /// Records the device CA (made, or imported as `(certificate_pem, key_pem)`) and the
    /// public URLs and names. Open the store again to use the new settings.
    #[pyo3(signature = (base_url=None, enrollment_profile_id=None, organisation=None, admin_email=None, smtp_url=None, smtp_from=None, device_ca=None))]
    #[allow(clippy::too_many_arguments)]
    fn init(
        &self,
        py: Python<'_>,
        base_url: Option<String>,
        enrollment_profile_id: Option<String>,
        organisation: Option<String>,
        admin_email: Option<String>,
        smtp_url: Option<String>,
        smtp_from: Option<String>,
        device_ca: Option<(Vec<u8>, Vec<u8>)>,
    ) -> PyResult<InitReport> {
        let mut options = service::InitOptions::default();
        options.base_url = base_url;
        options.enrollment_profile_id = enrollment_profile_id;
        options.organisation = organisation;
        options.admin_email = admin_email;
        options.smtp_url = smtp_url;
        options.smtp_from = smtp_from;
        options.device_ca = device_ca;
        let e = self.enrollment.clone();
        block(py, move || async move { e.init(options).await }).map(InitReport::from)
    }

    /// The device CA's certificate (PEM).
    fn device_ca_pem(&self, py: Python<'_>) -> PyResult<String> {
        let e = self.enrollment.clone();
        block(py, move || async move { e.device_ca_pem().await })
    }

    /// A one-time enrollment link for a portal user, valid for `ttl_seconds`.
    #[pyo3(signature = (user_id, ttl_seconds=86_400))]
    fn create_link(
        &self,
        py: Python<'_>,
        user_id: String,
        ttl_seconds: u64,
    ) -> PyResult<EnrollmentLink> {
        let e = self.enrollment.clone();
        block(py, move || async move {
            e.create_link(&user_id, Duration::from_secs(ttl_seconds))
                .await
        })
        .map(EnrollmentLink::from)
    }

    /// Redeems an enrollment link's token: the signed enrollment profile for its user.
    fn enroll(&self, py: Python<'_>, token: String) -> PyResult<EnrollmentProfile> {
        let e = self.enrollment.clone();
        let profile = block(py, move || async move { e.enroll(&token).await })?;
        Ok(EnrollmentProfile::new(py, profile))
    }

    /// Invites a portal user by e-mail (the links are returned when SMTP is not set).
    #[pyo3(signature = (user_id, email, ttl_seconds=604_800))]
    fn invite(
        &self,
        py: Python<'_>,
        user_id: String,
        email: String,
        ttl_seconds: u64,
    ) -> PyResult<InvitationReport> {
        let e = self.enrollment.clone();
        let report = block(py, move || async move {
            e.invite(&user_id, &email, Duration::from_secs(ttl_seconds))
                .await
        })?;
        InvitationReport::new(py, report)
    }

    /// Invitations, optionally of one user, newest first.
    #[pyo3(signature = (user_id=None))]
    fn invitations<'py>(
        &self,
        py: Python<'py>,
        user_id: Option<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let e = self.enrollment.clone();
        let list = block(py, move || async move {
            e.invitations_list(user_id.as_deref()).await
        })?;
        records::list::<_, Invitation>(py, list)
    }

    /// Revokes an invitation; returns whether it existed.
    fn revoke_invitation(&self, py: Python<'_>, invitation_id: String) -> PyResult<bool> {
        let e = self.enrollment.clone();
        block(py, move || async move {
            e.revoke_invitation(&invitation_id).await
        })
    }
}

/// Expiry of a deployment's credentials (`Mdm.expiry`).
#[pyclass(module = "mdmkit", frozen, name = "Expiry")]
pub struct ExpiryHandle {
    expiry: service::Expiry,
}

fn others(
    vendor_certificate: Option<Vec<u8>>,
    ade_tokens: Vec<(String, Bound<'_, PyAny>)>,
) -> PyResult<service::OtherCredentials> {
    let mut others = service::OtherCredentials::default();
    others.vendor_certificate = vendor_certificate;
    for (name, not_after) in ade_tokens {
        others
            .ade_tokens
            .push((name, crate::convert::from_datetime(&not_after)?));
    }
    Ok(others)
}

#[pymethods]
impl ExpiryHandle {
    /// Every credential that expires, soonest first: the push certificates, and the MDM
    /// vendor certificate (PEM or DER) and ADE server tokens (name, expiry) given.
    #[pyo3(signature = (vendor_certificate=None, ade_tokens=Vec::new()))]
    fn dashboard<'py>(
        &self,
        py: Python<'py>,
        vendor_certificate: Option<Vec<u8>>,
        ade_tokens: Vec<(String, Bound<'py, PyAny>)>,
    ) -> PyResult<Bound<'py, PyList>> {
        let others = others(vendor_certificate, ade_tokens)?;
        let e = self.expiry.clone();
        let entries = block(py, move || async move { e.dashboard(&others).await })?;
        records::list::<_, DashboardEntry>(py, entries)
    }

    /// Sends the notices due now (from 60 days before expiry, at most once per
    /// `interval_days`) through the stored SMTP settings to the stored admin address.
    #[pyo3(signature = (vendor_certificate=None, ade_tokens=Vec::new(), interval_days=7))]
    fn send_due_notices<'py>(
        &self,
        py: Python<'py>,
        vendor_certificate: Option<Vec<u8>>,
        ade_tokens: Vec<(String, Bound<'py, PyAny>)>,
        interval_days: u32,
    ) -> PyResult<Bound<'py, PyList>> {
        let others = others(vendor_certificate, ade_tokens)?;
        let e = self.expiry.clone();
        let sent = block(py, move || async move {
            e.send_due_notices(&others, interval_days).await
        })?;
        records::list::<_, NoticeSent>(py, sent)
    }
}
