//! The main demonstration: what mdmkit does today, step by step.
//!
//! Run it with `scripts/demo.sh` (or `cargo run -p mdmkit-examples --bin demo`).

use mdmkit_core::command::{CommandEnvelope, DeviceInformation, DeviceLock};
use mdmkit_core::schema::{DeviceFacts, Platform};
use mdmkit_core::{Checkin, CheckinMessage, CommandResponse, CommandResult, Error};

/// A TokenUpdate as an iPhone sends it after enrolling.
const TOKEN_UPDATE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
  <key>MessageType</key><string>TokenUpdate</string>
  <key>Topic</key><string>com.apple.mgmt.External.2f1c9b9e-6d1f-4e8a-9d0b-demo00000001</string>
  <key>UDID</key><string>00008030-001A2B3C4D5E6F70</string>
  <key>Token</key><data>3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=</data>
  <key>PushMagic</key><string>7E5C3F1A-8B2D-4C6E-9F0A-1B2C3D4E5F60</string>
  <key>UnlockToken</key><data>ZGVtby11bmxvY2stdG9rZW4=</data>
  <key>AwaitingConfiguration</key><false/>
</dict>
</plist>"#;

/// The same device's answer to a DeviceInformation command.
const DEVICE_INFORMATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
  <key>UDID</key><string>00008030-001A2B3C4D5E6F70</string>
  <key>CommandUUID</key><string>D1A6B0E2-0000-4000-8000-000000000002</string>
  <key>Status</key><string>Acknowledged</string>
  <key>QueryResponses</key>
  <dict>
    <key>DeviceName</key><string>Amy's iPhone</string>
    <key>OSVersion</key><string>17.4.1</string>
    <key>ModelName</key><string>iPhone</string>
    <key>IsSupervised</key><false/>
    <key>BatteryLevel</key><real>0.82</real>
  </dict>
</dict>
</plist>"#;

fn main() -> Result<(), Error> {
    println!("== 1. Build a DeviceLock command");
    let lock = DeviceLock::new()
        .with_message("This iPhone was lost. Please call 555-0100.")
        .with_phone_number("555-0100");
    let envelope = CommandEnvelope::with_uuid("6F9619FF-8B86-4011-B42D-00C04FC964FF", lock);
    let facts = DeviceFacts::new(Platform::Ios);
    envelope.command.info().check(&facts)?;
    println!("(iOS can run {}.)", envelope.request_type());
    println!("{}", String::from_utf8_lossy(&envelope.to_xml()?));

    println!("== 2. Decode a TokenUpdate check-in");
    let checkin = Checkin::decode(TOKEN_UPDATE.as_bytes())?;
    println!("enrollment: {}", checkin.enrollment_id);
    if let CheckinMessage::TokenUpdate(update) = &checkin.message {
        println!("topic:      {}", update.topic);
        println!("push magic: {}", update.push_magic);
        println!("push token: {} bytes", update.token.len());
        // Debug output never shows token bytes.
        println!("unlock:     {:?}", update.unlock_token);
    }

    println!("\n== 3. Ask for device information and decode the answer");
    let query = DeviceInformation::new(vec![
        "DeviceName".into(),
        "OSVersion".into(),
        "BatteryLevel".into(),
    ]);
    let query = CommandEnvelope::with_uuid("D1A6B0E2-0000-4000-8000-000000000002", query);
    println!("sent {} {}", query.request_type(), query.command_uuid);
    let result = CommandResult::decode(DEVICE_INFORMATION.as_bytes(), Some(query.request_type()))?;
    println!("status: {} for {:?}", result.status, result.command_uuid);
    if let Some(CommandResponse::DeviceInformation(info)) = &result.response {
        if let Some(q) = &info.query_responses {
            println!("device name:   {}", q.device_name.as_deref().unwrap_or("?"));
            println!("OS version:    {}", q.os_version.as_deref().unwrap_or("?"));
            println!(
                "battery level: {:.0}%",
                q.battery_level.unwrap_or_default() * 100.0
            );
        }
    }
    Ok(())
}
