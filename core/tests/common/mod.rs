//! Helpers shared by the core's integration tests.
#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use mdmkit_core::schema::{KeyInfo, ValueKind};
use plist::{Dictionary, Value};

/// A value of every key the schema describes, valid for the schema: the first allowed
/// value where there is a list, every optional key filled in.
pub fn sample_value(info: &KeyInfo) -> Value {
    sample_at_depth(info, 0)
}

/// Self-referential structures (a home screen's folders hold pages of icons and folders)
/// end in empty arrays at this depth.
const MAX_SAMPLE_DEPTH: usize = 6;

fn sample_at_depth(info: &KeyInfo, depth: usize) -> Value {
    match info.kind {
        ValueKind::String => Value::String(
            info.allowed
                .first()
                .map_or_else(|| format!("sample-{}", info.name), |v| v.to_string()),
        ),
        ValueKind::Integer => Value::Integer(
            info.allowed
                .first()
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(7)
                .into(),
        ),
        ValueKind::Real => Value::Real(1.5),
        ValueKind::Boolean => Value::Boolean(true),
        ValueKind::Data => Value::Data(vec![0xDE, 0xAD, 0xBE, 0xEF]),
        ValueKind::Date => {
            Value::Date((SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)).into())
        }
        ValueKind::Array if depth >= MAX_SAMPLE_DEPTH => Value::Array(Vec::new()),
        ValueKind::Array => Value::Array(vec![match info.item {
            Some(item) => sample_at_depth(item, depth + 1),
            None => Value::String("item".into()),
        }]),
        ValueKind::Dictionary => {
            if info.discriminator.is_some() {
                // One dictionary of the first alternative.
                Value::Dictionary(sample_keys(info.keys[0].keys, depth + 1))
            } else if let Some(value) = info.map_value {
                let mut dict = Dictionary::new();
                dict.insert("free-key".into(), sample_at_depth(value, depth + 1));
                Value::Dictionary(dict)
            } else if info.keys.is_empty() {
                let mut dict = Dictionary::new();
                dict.insert("AppKey".into(), Value::String("app value".into()));
                Value::Dictionary(dict)
            } else {
                Value::Dictionary(sample_keys(info.keys, depth + 1))
            }
        }
        ValueKind::Any => Value::String("anything".into()),
    }
}

/// A dictionary with every key of `keys` filled in.
pub fn sample_dictionary(keys: &[KeyInfo]) -> Dictionary {
    sample_keys(keys, 0)
}

fn sample_keys(keys: &[KeyInfo], depth: usize) -> Dictionary {
    keys.iter()
        .map(|k| (k.name.to_owned(), sample_at_depth(k, depth)))
        .collect()
}

/// Parses an XML plist written in a test.
pub fn dict(xml: &str) -> Dictionary {
    plist::from_bytes(xml.as_bytes()).expect("test fixture is a valid plist")
}

/// Puts a value in every sealed column of a store: two enrollments (tokens, raw
/// messages), a device's information, a queued command and its result, a push
/// certificate, a CSR key, a user certificate, a portal user and a configuration.
pub async fn fill_every_sealed_column<S: mdmkit_core::store::Store>(store: &S) {
    use mdmkit_core::store::*;
    use mdmkit_core::{CommandStatus, EnrollmentId, Secret};
    for name in ["DEVICE-ROT1", "DEVICE-ROT2"] {
        let id = EnrollmentId::device(name);
        let mut record = EnrollmentRecord::new(id.clone());
        record.unlock_token = Some(Secret::from(format!("{name}-unlock")));
        record.bootstrap_token = Some(Secret::from(format!("{name}-bootstrap")));
        record.authenticate_message = Some(format!("{name}-authenticate").into_bytes());
        record.token_update_message = Some(format!("{name}-token-update").into_bytes());
        store.put_enrollment(&record).await.unwrap();
        let mut device = DeviceRecord::new(name);
        device.device_information = Some(format!("{name}-information").into_bytes());
        store.put_device(&device).await.unwrap();
        let uuid = format!("{name}-command");
        store
            .enqueue(
                &QueuedCommand::new(uuid.as_str(), "ClearPasscode", b"ROT-payload".to_vec()),
                std::slice::from_ref(&id),
            )
            .await
            .unwrap();
        store
            .record_result(
                &id,
                &CommandResultRecord::new(
                    uuid,
                    CommandStatus::Acknowledged,
                    b"ROT-result".to_vec(),
                ),
            )
            .await
            .unwrap();
    }
    store
        .put_push_certificate(&PushCertificateRecord::new(
            "ROT-topic",
            b"certificate".to_vec(),
            Secret::from("ROT-push-key"),
            time::OffsetDateTime::UNIX_EPOCH,
        ))
        .await
        .unwrap();
    store
        .put_pending_csr_key(&PendingCsrKey::new("ROT-csr", Secret::from("ROT-csr-key")))
        .await
        .unwrap();
    let mut certificate = UserCertificateRecord::new("ROT-uc", "u", "k", "n", b"der".to_vec());
    certificate.pkcs12 = Some(Secret::from("ROT-p12"));
    certificate.pkcs12_password = Some(Secret::from("ROT-p12-password"));
    store.put_user_certificate(&certificate).await.unwrap();
    let mut user = PortalUser::new("ROT-user", "rot@example.com");
    user.password_hash = Some(Secret::from("ROT-hash"));
    store.put_portal_user(&user).await.unwrap();
    store
        .put_configuration(&ConfigurationRecord::new(
            "ROT-config",
            "c",
            b"ROT-config-payload".to_vec(),
        ))
        .await
        .unwrap();
}

/// Reads back everything [`fill_every_sealed_column`] put (the second enrollment's
/// bootstrap token may have been cleared).
pub async fn assert_every_sealed_column_reads<S: mdmkit_core::store::Store>(store: &S) {
    use mdmkit_core::EnrollmentId;
    for name in ["DEVICE-ROT1", "DEVICE-ROT2"] {
        let record = store
            .get_enrollment(&EnrollmentId::device(name))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            record.unlock_token.unwrap().expose(),
            format!("{name}-unlock").as_bytes()
        );
        if name == "DEVICE-ROT1" {
            assert_eq!(
                record.bootstrap_token.unwrap().expose(),
                format!("{name}-bootstrap").as_bytes()
            );
        }
        assert_eq!(
            record.authenticate_message.unwrap(),
            format!("{name}-authenticate").as_bytes()
        );
        assert_eq!(
            record.token_update_message.unwrap(),
            format!("{name}-token-update").as_bytes()
        );
        let device = store.get_device(name).await.unwrap().unwrap();
        assert_eq!(
            device.device_information.unwrap(),
            format!("{name}-information").as_bytes()
        );
        let uuid = format!("{name}-command");
        assert_eq!(
            store.get_command(&uuid).await.unwrap().unwrap().payload,
            b"ROT-payload"
        );
        let status = store.command_status(&uuid).await.unwrap();
        assert_eq!(status[0].result.as_ref().unwrap().payload, b"ROT-result");
    }
    assert_eq!(
        store
            .get_push_certificate("ROT-topic")
            .await
            .unwrap()
            .unwrap()
            .private_key
            .expose(),
        b"ROT-push-key"
    );
    assert_eq!(
        store
            .get_pending_csr_key("ROT-csr")
            .await
            .unwrap()
            .unwrap()
            .private_key
            .expose(),
        b"ROT-csr-key"
    );
    let certificate = store.get_user_certificate("ROT-uc").await.unwrap().unwrap();
    assert_eq!(certificate.pkcs12.unwrap().expose(), b"ROT-p12");
    assert_eq!(
        certificate.pkcs12_password.unwrap().expose(),
        b"ROT-p12-password"
    );
    assert_eq!(
        store
            .get_portal_user("ROT-user")
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap()
            .expose(),
        b"ROT-hash"
    );
    assert_eq!(
        store
            .get_configuration("ROT-config")
            .await
            .unwrap()
            .unwrap()
            .payload,
        b"ROT-config-payload"
    );
}
