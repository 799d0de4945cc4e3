//! Signed check-in round trips prepared before the clock starts, shared by the check-in
//! benches (`engine.rs`, `serve_http.rs`, through `#[path]`: the benches' library cannot
//! use `mdmkit-tests`, a dev-dependency).

use mdmkit_core::command::DeviceInformation;
use mdmkit_core::engine::{Engine, MdmRequest};
use mdmkit_core::{CommandStatus, EnrollmentId};
use mdmkit_tests::{DeviceCa, SimulatedDevice};

/// The error type of the benches.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One device's two signed requests of a round trip.
pub struct RoundTrip {
    /// `Idle`, answered with the queued command.
    pub idle: MdmRequest,
    /// The command's `Acknowledged` result, answered with an empty body.
    pub ack: MdmRequest,
}

/// Enrolls `n` simulated devices of `topic` with identities from `ca` (Authenticate,
/// TokenUpdate through `engine`), queues one DeviceInformation to all of them, and signs
/// each device's `Idle` and its acknowledgement.
pub async fn round_trips(
    engine: &Engine,
    ca: &DeviceCa,
    topic: &str,
    n: usize,
) -> Result<Vec<RoundTrip>, BoxError> {
    let mut devices = Vec::with_capacity(n);
    for i in 0..n {
        let udid = format!("00008030-{i:016X}");
        let device = SimulatedDevice::new(&udid, topic).with_identity(ca.issue(&udid)?);
        for body in [
            device.authenticate()?,
            device.token_update(&[7; 32], "MAGIC")?,
        ] {
            let response = engine.handle_checkin(device.request(body)?).await;
            if response.status != 200 {
                return Err(format!("enrollment failed: {:?}", response.error).into());
            }
        }
        devices.push(device);
    }
    let ids: Vec<EnrollmentId> = devices
        .iter()
        .map(|d| EnrollmentId::device(&d.udid))
        .collect();
    let outcome = engine
        .enqueue_command_many(&ids, DeviceInformation::new(vec!["OSVersion".into()]), None)
        .await?;
    if outcome.queued.len() != n {
        return Err(format!("queued to {} of {n}", outcome.queued.len()).into());
    }
    let command = engine
        .store()
        .get_command(&outcome.command_uuid)
        .await?
        .ok_or("command missing")?;
    let mut trips = Vec::with_capacity(n);
    for device in &devices {
        let ack = device.answer(
            &command.payload,
            CommandStatus::Acknowledged,
            plist::Dictionary::new(),
        )?;
        trips.push(RoundTrip {
            idle: device.request(device.idle()?)?,
            ack: device.request(ack)?,
        });
    }
    Ok(trips)
}
