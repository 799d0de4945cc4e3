//! A simulated device and the server side of the protocol agree, in both plist formats.

use mdmkit_core::command::{CommandEnvelope, DeviceLock};
use mdmkit_core::{
    Checkin, CheckinMessage, CommandResponse, CommandResult, CommandStatus, PlistFormat,
};
use mdmkit_tests::SimulatedDevice;
use plist::{Dictionary, Value};

#[test]
fn enrollment_messages_and_a_lock_round_trip_between_device_and_server() {
    for format in [PlistFormat::Xml, PlistFormat::Binary] {
        let mut device = SimulatedDevice::new("SIM-UDID-1", "com.apple.mgmt.External.test");
        device.format = format;

        let auth = Checkin::decode(&device.authenticate().unwrap()).unwrap();
        assert_eq!(auth.enrollment_id.as_str(), "SIM-UDID-1");
        assert!(matches!(auth.message, CheckinMessage::Authenticate(_)));

        let update = Checkin::decode(&device.token_update(&[7; 32], "MAGIC-1").unwrap()).unwrap();
        let CheckinMessage::TokenUpdate(update) = update.message else {
            panic!("expected TokenUpdate");
        };
        assert_eq!(update.push_magic, "MAGIC-1");
        assert_eq!(update.token.as_bytes(), &[7; 32]);

        let command = CommandEnvelope::new(DeviceLock::new().with_message("locked"))
            .encode(format)
            .unwrap();
        let mut answer = Dictionary::new();
        answer.insert("MessageResult".into(), Value::String("Success".into()));
        let body = device
            .answer(&command, CommandStatus::Acknowledged, answer)
            .unwrap();
        let result = CommandResult::decode(&body, Some("DeviceLock")).unwrap();
        assert_eq!(result.status, CommandStatus::Acknowledged);
        assert_eq!(
            result.command_uuid,
            Some(CommandEnvelope::decode(&command).unwrap().command_uuid)
        );
        assert!(matches!(
            result.response,
            Some(CommandResponse::DeviceLock(_))
        ));

        let idle = CommandResult::decode(&device.idle().unwrap(), None).unwrap();
        assert_eq!(idle.status, CommandStatus::Idle);
    }
}
