//! The conformance suite every backend must pass (feature `testing`).
//!
//! A third-party backend runs it from its own tests:
//!
//! ```
//! # use mdmkit_core::store::{conformance, MemoryStore};
//! // In a `#[tokio::test] async fn`, with your backend in place of MemoryStore:
//! # async fn my_backend_conforms() {
//! let store = MemoryStore::new();
//! conformance::run_all(&store).await;
//! # }
//! ```
//!
//! Every check uses identifiers unique to the run, so one store (even a shared database)
//! can run the suite several times. A failed check panics with a message naming it.

use time::OffsetDateTime;

use super::model::*;
use super::Store;
use crate::{CommandStatus, EnrollmentId, Error, Secret};

/// Runs every check of the suite against `store`.
pub async fn run_all(store: &dyn Store) {
    enrollments(store).await;
    push_info(store).await;
    devices(store).await;
    batched_reads(store).await;
    queue_priority_then_fifo(store).await;
    queue_not_now_and_idle(store).await;
    queue_rejects_bad_results(store).await;
    queue_enqueue_idempotent_and_conflict(store).await;
    queue_bulk_enqueue_and_status(store).await;
    queue_concurrent_dequeue(store).await;
    queue_redelivery(store).await;
    queue_purge_finished(store).await;
    queue_clear_pending_and_identity_query(store).await;
    push_certificates(store).await;
    expiry_notice_claims(store).await;
    user_certificates(store).await;
    configurations(store).await;
    portal_users_and_tokens(store).await;
    admin_users(store).await;
    privacy_and_audit(store).await;
    privacy_overrides_precedence(store).await;
    branding(store).await;
    sign_in_failures(store).await;
    settings(store).await;
    declarations(store).await;
    declarative_status(store).await;
    asset_data(store).await;
}

/// A prefix unique to this check and run.
fn unique(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).expect("valid test timestamp")
}

fn command(uuid: &str, priority: i32) -> QueuedCommand {
    let payload =
        format!("<plist><dict><key>CommandUUID</key><string>{uuid}</string></dict></plist>");
    QueuedCommand::new(uuid, "DeviceInformation", payload.into_bytes()).with_priority(priority)
}

async fn drain(store: &dyn Store, id: &EnrollmentId, request: &NextCommand) -> Vec<String> {
    let mut uuids = Vec::new();
    while let Some(command) = store.next_command(id, request).await.expect("next_command") {
        uuids.push(command.command_uuid);
    }
    uuids
}

async fn ack(store: &dyn Store, id: &EnrollmentId, uuid: &str, status: CommandStatus) {
    store
        .record_result(
            id,
            &CommandResultRecord::new(uuid, status, b"<plist/>".to_vec()),
        )
        .await
        .expect("record_result");
}

/// Enrollment records round-trip with every field, queries filter, setters change one
/// field and refuse unknown enrollments.
pub async fn enrollments(store: &dyn Store) {
    let device = unique("enr-device");
    let owner = unique("owner");
    let device_id = EnrollmentId::device(&device);
    let user_id = EnrollmentId::user(&device, "USER-1");

    let mut record = EnrollmentRecord::new(device_id.clone());
    record.enrollment_type = Some("Device".into());
    record.enrolled_topic = Some("com.apple.mgmt.External.test".into());
    record.push = Some(PushInfo::new(
        vec![1, 2, 3],
        "magic",
        "com.apple.mgmt.External.test",
    ));
    record.unlock_token = Some(Secret::new(b"unlock-secret".to_vec()));
    record.bootstrap_token = Some(Secret::new(b"bootstrap-secret".to_vec()));
    record.identity_cert_sha256 = Some("ab".repeat(32));
    record.identity_certificate = Some(vec![0x30, 0x82, 0x01, 0x0a, 0x00, 0xff]);
    record.owner = Some(owner.clone());
    record.enabled = true;
    record.authenticate_message = Some(b"<plist>auth</plist>".to_vec());
    record.token_update_message = Some(b"<plist>tu</plist>".to_vec());
    record.last_seen = Some(at(5));
    store.put_enrollment(&record).await.expect("put_enrollment");
    let loaded = store
        .get_enrollment(&device_id)
        .await
        .expect("get_enrollment");
    assert_eq!(loaded.as_ref(), Some(&record), "enrollment round trip");

    let user = EnrollmentRecord::new(user_id.clone());
    store.put_enrollment(&user).await.expect("put_enrollment");
    assert_eq!(
        store.get_enrollment(&user_id).await.expect("get").as_ref(),
        Some(&user),
        "enrollment with no optional field round trip"
    );
    assert!(store
        .get_enrollment(&EnrollmentId::device(&unique("none")))
        .await
        .expect("get unknown")
        .is_none());

    let mut by_device = EnrollmentQuery::all();
    by_device.device_id = Some(device.clone());
    let listed = store.list_enrollments(&by_device).await.expect("list");
    assert_eq!(
        listed.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        vec![device_id.clone(), user_id.clone()],
        "list by device, ordered by id"
    );
    let mut by_owner = EnrollmentQuery::all();
    by_owner.owner = Some(owner.clone());
    assert_eq!(
        store.list_enrollments(&by_owner).await.expect("list").len(),
        1
    );
    let mut disabled = by_device.clone();
    disabled.enabled = Some(false);
    assert_eq!(
        store.list_enrollments(&disabled).await.expect("list")[0].id,
        user_id
    );
    let mut paged = by_device.clone();
    paged.limit = Some(1);
    assert_eq!(store.list_enrollments(&paged).await.expect("list").len(), 1);
    paged.after = Some(device_id.clone());
    assert_eq!(
        store.list_enrollments(&paged).await.expect("list")[0].id,
        user_id,
        "paging with after"
    );

    store
        .set_enabled(&user_id, true)
        .await
        .expect("set_enabled");
    let token = Secret::from("new-unlock");
    store
        .set_unlock_token(&user_id, Some(&token))
        .await
        .expect("set_unlock_token");
    store
        .set_bootstrap_token(&user_id, Some(&token))
        .await
        .expect("set_bootstrap_token");
    store
        .set_owner(&user_id, Some(&owner))
        .await
        .expect("set_owner");
    let before_touch = store
        .get_enrollment(&user_id)
        .await
        .expect("get")
        .expect("present");
    store
        .touch_enrollment(&user_id, at(9))
        .await
        .expect("touch");
    let changed = store
        .get_enrollment(&user_id)
        .await
        .expect("get")
        .expect("present");
    assert!(changed.enabled);
    assert_eq!(changed.unlock_token.as_ref(), Some(&token));
    assert_eq!(changed.bootstrap_token.as_ref(), Some(&token));
    assert_eq!(changed.owner.as_deref(), Some(owner.as_str()));
    assert_eq!(changed.last_seen, Some(at(9)));
    assert_eq!(
        changed.updated_at, before_touch.updated_at,
        "touch is not an edit"
    );
    store
        .set_unlock_token(&user_id, None)
        .await
        .expect("clear unlock token");
    assert!(store
        .get_enrollment(&user_id)
        .await
        .expect("get")
        .expect("present")
        .unlock_token
        .is_none());

    let missing = EnrollmentId::device(&unique("missing"));
    let error = store
        .set_enabled(&missing, true)
        .await
        .expect_err("unknown enrollment");
    assert!(
        matches!(error, Error::NotFound { .. }),
        "set_enabled on unknown: {error:?}"
    );
    assert_eq!(error.code(), "not_found");
    assert!(store.set_owner(&missing, None).await.is_err());
    assert!(store.touch_enrollment(&missing, at(1)).await.is_err());

    assert!(store.delete_enrollment(&user_id).await.expect("delete"));
    assert!(!store
        .delete_enrollment(&user_id)
        .await
        .expect("delete again"));
    assert!(store.get_enrollment(&user_id).await.expect("get").is_none());
}

/// Push info: TokenUpdate enables, 410 marks the token invalid, targets per topic skip
/// invalid and disabled enrollments, a new TokenUpdate clears the mark.
pub async fn push_info(store: &dyn Store) {
    let topic = unique("com.apple.mgmt.External");
    let a = EnrollmentId::device(&unique("push-a"));
    let b = EnrollmentId::device(&unique("push-b"));
    let c = EnrollmentId::device(&unique("push-c"));
    for id in [&a, &b, &c] {
        store
            .put_enrollment(&EnrollmentRecord::new(id.clone()))
            .await
            .expect("put");
    }
    assert!(store.get_push_info(&a).await.expect("get").is_none());
    let push_a = PushInfo::new(vec![0xaa; 32], "magic-a", &topic);
    store
        .set_push_info(&a, &push_a)
        .await
        .expect("set_push_info");
    store
        .set_push_info(&b, &PushInfo::new(vec![0xbb; 32], "magic-b", &topic))
        .await
        .expect("set_push_info");
    store
        .set_push_info(&c, &PushInfo::new(vec![0xcc; 32], "magic-c", &topic))
        .await
        .expect("set_push_info");
    store.set_enabled(&c, false).await.expect("disable");
    assert_eq!(
        store.get_push_info(&a).await.expect("get"),
        Some(push_a.clone())
    );
    assert!(
        store
            .get_enrollment(&a)
            .await
            .expect("get")
            .expect("present")
            .enabled
    );

    let targets = store.push_targets_for_topic(&topic).await.expect("targets");
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(
        targets
            .iter()
            .map(|t| t.enrollment_id.clone())
            .collect::<Vec<_>>(),
        expected,
        "enabled enrollments of the topic"
    );

    assert!(
        !store
            .mark_push_token_invalid(&a, &[0x11; 32], at(1))
            .await
            .expect("mark"),
        "a stale token is not marked"
    );
    assert!(store
        .mark_push_token_invalid(&a, &[0xaa; 32], at(2))
        .await
        .expect("mark"));
    let invalid = store
        .get_push_info(&a)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(invalid.invalid_since, Some(at(2)));
    assert!(!invalid.is_valid());
    let targets = store.push_targets_for_topic(&topic).await.expect("targets");
    assert_eq!(targets.len(), 1, "the invalid token is not a target");
    assert_eq!(targets[0].enrollment_id, b);
    assert_eq!(targets[0].push.push_magic, "magic-b");

    store
        .set_push_info(&a, &push_a)
        .await
        .expect("new TokenUpdate");
    assert!(store
        .get_push_info(&a)
        .await
        .expect("get")
        .expect("present")
        .is_valid());
    assert_eq!(
        store
            .push_targets_for_topic(&topic)
            .await
            .expect("targets")
            .len(),
        2
    );
    assert!(store
        .set_push_info(&EnrollmentId::device(&unique("none")), &push_a)
        .await
        .is_err());
}

/// Device records round-trip.
pub async fn devices(store: &dyn Store) {
    let id = unique("device");
    let mut record = DeviceRecord::new(&id);
    record.serial_number = Some("C02XYZ".into());
    record.model = Some("iPhone15,2".into());
    record.product_name = Some("iPhone".into());
    record.os_version = Some("17.4".into());
    record.build_version = Some("21E219".into());
    record.device_information = Some(b"<plist/>".to_vec());
    store.put_device(&record).await.expect("put_device");
    assert_eq!(
        store.get_device(&id).await.expect("get"),
        Some(record.clone())
    );
    record.os_version = Some("17.5".into());
    store.put_device(&record).await.expect("replace");
    assert_eq!(store.get_device(&id).await.expect("get"), Some(record));
    assert!(store
        .get_device(&unique("none"))
        .await
        .expect("get")
        .is_none());
}

/// `get_enrollments` and `get_devices`: the records that exist, each once, in identifier
/// order, sealed columns unsealed; unknown identifiers absent; an empty list reads
/// nothing; a list of thousands is read whole.
pub async fn batched_reads(store: &dyn Store) {
    let prefix = unique("batch");
    let mut full = EnrollmentRecord::new(EnrollmentId::device(&format!("{prefix}-b")));
    full.push = Some(PushInfo::new(
        vec![9, 8, 7],
        "magic",
        "com.apple.mgmt.batch",
    ));
    full.unlock_token = Some(Secret::new(b"batch-unlock".to_vec()));
    full.bootstrap_token = Some(Secret::new(b"batch-bootstrap".to_vec()));
    full.authenticate_message = Some(b"<plist>auth</plist>".to_vec());
    full.token_update_message = Some(b"<plist>tu</plist>".to_vec());
    full.enrollment_type = Some("Device".into());
    full.enabled = true;
    full.last_seen = Some(at(3));
    store.put_enrollment(&full).await.expect("put_enrollment");
    let plain = EnrollmentRecord::new(EnrollmentId::user(&format!("{prefix}-a"), "USER-1"));
    store.put_enrollment(&plain).await.expect("put_enrollment");
    let unknown = EnrollmentId::device(&format!("{prefix}-unknown"));

    assert!(
        store
            .get_enrollments(&[])
            .await
            .expect("get_enrollments of nothing")
            .is_empty(),
        "an empty list reads nothing"
    );
    let read = store
        .get_enrollments(&[
            full.id.clone(),
            unknown.clone(),
            plain.id.clone(),
            full.id.clone(),
        ])
        .await
        .expect("get_enrollments");
    assert_eq!(
        read,
        vec![plain.clone(), full.clone()],
        "each known enrollment once, in identifier order, secrets unsealed"
    );
    assert!(store
        .get_enrollments(std::slice::from_ref(&unknown))
        .await
        .expect("get_enrollments of unknown")
        .is_empty());

    let mut device = DeviceRecord::new(format!("{prefix}-b"));
    device.serial_number = Some("C02BATCH".into());
    device.model = Some("iPhone15,2".into());
    device.product_name = Some("iPhone".into());
    device.os_version = Some("17.4".into());
    device.build_version = Some("21E219".into());
    device.device_information = Some(b"<plist><dict/></plist>".to_vec());
    store.put_device(&device).await.expect("put_device");
    let bare = DeviceRecord::new(format!("{prefix}-a"));
    store.put_device(&bare).await.expect("put_device");
    let unknown_device = format!("{prefix}-unknown");
    assert!(
        store
            .get_devices(&[])
            .await
            .expect("get_devices of nothing")
            .is_empty(),
        "an empty list reads nothing"
    );
    assert_eq!(
        store
            .get_devices(&[
                device.device_id.as_str(),
                unknown_device.as_str(),
                bare.device_id.as_str(),
                device.device_id.as_str(),
            ])
            .await
            .expect("get_devices"),
        vec![bare.clone(), device.clone()],
        "each known device once, in identifier order, DeviceInformation unsealed"
    );

    // A list far longer than any batch a caller or backend may cut it into, most of it
    // unknown.
    let many: Vec<EnrollmentId> = (0..2_500)
        .map(|i| EnrollmentId::device(&format!("{prefix}-many-{i:05}")))
        .collect();
    let mut stored = Vec::new();
    for id in many.iter().step_by(10) {
        let record = EnrollmentRecord::new(id.clone());
        store.put_enrollment(&record).await.expect("put_enrollment");
        store
            .put_device(&DeviceRecord::new(id.device_part()))
            .await
            .expect("put_device");
        stored.push(record);
    }
    let mut listed = many.clone();
    listed.reverse();
    listed.push(full.id.clone());
    let read = store
        .get_enrollments(&listed)
        .await
        .expect("get_enrollments of many");
    let mut expected = stored.clone();
    expected.push(full.clone());
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(read, expected, "a long list is read whole");
    let device_ids: Vec<&str> = listed.iter().map(EnrollmentId::device_part).collect();
    let read = store
        .get_devices(&device_ids)
        .await
        .expect("get_devices of many");
    assert_eq!(
        read.iter()
            .map(|d| d.device_id.as_str())
            .collect::<Vec<_>>(),
        expected
            .iter()
            .map(|r| r.id.device_part())
            .collect::<Vec<_>>(),
        "a long list of devices is read whole"
    );
}

/// Higher priority first, then first in first out; final statuses remove commands.
pub async fn queue_priority_then_fifo(store: &dyn Store) {
    let id = EnrollmentId::device(&unique("fifo"));
    let names: Vec<String> = (0..5).map(|i| unique(&format!("cmd{i}"))).collect();
    let priorities = [0, 5, 0, 5, -1];
    for (name, priority) in names.iter().zip(priorities) {
        store
            .enqueue(&command(name, priority), std::slice::from_ref(&id))
            .await
            .expect("enqueue");
    }
    let expected = vec![
        names[1].clone(),
        names[3].clone(),
        names[0].clone(),
        names[2].clone(),
        names[4].clone(),
    ];
    let pending = store.pending_commands(&id).await.expect("pending");
    assert_eq!(
        pending
            .iter()
            .map(|p| p.command.command_uuid.clone())
            .collect::<Vec<_>>(),
        expected,
        "pending order"
    );
    assert_eq!(
        pending[0].command,
        command(&names[1], 5).with_created(pending[0].command.created_at)
    );

    let mut handed = Vec::new();
    for _ in 0..5 {
        let next = store
            .next_command(&id, &NextCommand::after_idle())
            .await
            .expect("next")
            .expect("a command");
        ack(store, &id, &next.command_uuid, CommandStatus::Acknowledged).await;
        handed.push(next.command_uuid);
    }
    assert_eq!(handed, expected, "dequeue order");
    assert!(store
        .next_command(&id, &NextCommand::after_idle())
        .await
        .expect("next")
        .is_none());
    assert!(store
        .pending_commands(&id)
        .await
        .expect("pending")
        .is_empty());
}

/// NotNow keeps a command queued, skipped on the same connection, handed out again after
/// Idle; Error and CommandFormatError are final.
pub async fn queue_not_now_and_idle(store: &dyn Store) {
    let id = EnrollmentId::device(&unique("notnow"));
    let first = unique("first");
    let second = unique("second");
    let third = unique("third");
    for name in [&first, &second, &third] {
        store
            .enqueue(&command(name, 0), std::slice::from_ref(&id))
            .await
            .expect("enqueue");
    }
    let next = store
        .next_command(&id, &NextCommand::after_idle())
        .await
        .expect("next")
        .expect("first");
    assert_eq!(next.command_uuid, first);
    ack(store, &id, &first, CommandStatus::NotNow).await;
    let next = store
        .next_command(&id, &NextCommand::after_result(CommandStatus::NotNow))
        .await
        .expect("next")
        .expect("second");
    assert_eq!(
        next.command_uuid, second,
        "NotNow command skipped on this connection"
    );
    ack(store, &id, &second, CommandStatus::Error).await;
    let next = store
        .next_command(&id, &NextCommand::after_result(CommandStatus::Error))
        .await
        .expect("next")
        .expect("third");
    assert_eq!(next.command_uuid, third);
    ack(store, &id, &third, CommandStatus::CommandFormatError).await;
    assert!(
        store
            .next_command(
                &id,
                &NextCommand::after_result(CommandStatus::CommandFormatError)
            )
            .await
            .expect("next")
            .is_none(),
        "only the NotNow command is left, and it is skipped"
    );
    let pending = store.pending_commands(&id).await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].command.command_uuid, first);
    assert_eq!(pending[0].status, Some(CommandStatus::NotNow));

    let again = store
        .next_command(&id, &NextCommand::after_idle())
        .await
        .expect("next")
        .expect("NotNow command after Idle");
    assert_eq!(again.command_uuid, first);
    ack(store, &id, &first, CommandStatus::Acknowledged).await;
    assert!(store
        .pending_commands(&id)
        .await
        .expect("pending")
        .is_empty());

    let statuses = store.command_status(&second).await.expect("status");
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].status, Some(CommandStatus::Error));
    assert!(statuses[0].is_finished());
}

/// Results for commands not queued to the enrollment, and Idle results, are rejected.
pub async fn queue_rejects_bad_results(store: &dyn Store) {
    let id = EnrollmentId::device(&unique("reject"));
    let other = EnrollmentId::device(&unique("reject-other"));
    let name = unique("cmd");
    store
        .enqueue(&command(&name, 0), std::slice::from_ref(&id))
        .await
        .expect("enqueue");
    let result = CommandResultRecord::new(&name, CommandStatus::Acknowledged, Vec::new());
    let error = store
        .record_result(&other, &result)
        .await
        .expect_err("not queued to other");
    assert!(matches!(error, Error::CommandNotQueued { .. }), "{error:?}");
    assert_eq!(error.code(), "command_not_queued");
    let unknown = CommandResultRecord::new(unique("unknown"), CommandStatus::Error, Vec::new());
    assert!(matches!(
        store.record_result(&id, &unknown).await,
        Err(Error::CommandNotQueued { .. })
    ));
    let idle = CommandResultRecord::new(&name, CommandStatus::Idle, Vec::new());
    assert!(matches!(
        store.record_result(&id, &idle).await,
        Err(Error::StoreInput(_))
    ));
    assert_eq!(
        store.pending_commands(&id).await.expect("pending").len(),
        1,
        "rejected results change nothing"
    );

    // A late NotNow after a final status does not reopen the command.
    ack(store, &id, &name, CommandStatus::Acknowledged).await;
    ack(store, &id, &name, CommandStatus::NotNow).await;
    assert!(store
        .pending_commands(&id)
        .await
        .expect("pending")
        .is_empty());
    let status = store.command_status(&name).await.expect("status");
    assert_eq!(status[0].status, Some(CommandStatus::Acknowledged));
}

/// The same CommandUUID and payload again is idempotent; a different payload conflicts and
/// changes nothing; an empty target list is refused.
pub async fn queue_enqueue_idempotent_and_conflict(store: &dyn Store) {
    let a = EnrollmentId::device(&unique("idem-a"));
    let b = EnrollmentId::device(&unique("idem-b"));
    let c = EnrollmentId::device(&unique("idem-c"));
    let name = unique("cmd");
    let original = command(&name, 0);
    store
        .enqueue(&original, std::slice::from_ref(&a))
        .await
        .expect("enqueue");
    store
        .enqueue(&original, &[a.clone(), b.clone()])
        .await
        .expect("same payload again");
    assert_eq!(store.pending_commands(&a).await.expect("pending").len(), 1);
    assert_eq!(store.pending_commands(&b).await.expect("pending").len(), 1);

    let mut changed = original.clone();
    changed.payload = b"<plist>other</plist>".to_vec();
    let error = store
        .enqueue(&changed, std::slice::from_ref(&c))
        .await
        .expect_err("different payload");
    assert!(matches!(error, Error::StoreConflict(_)), "{error:?}");
    assert_eq!(error.code(), "store_conflict");
    assert!(
        store
            .pending_commands(&c)
            .await
            .expect("pending")
            .is_empty(),
        "a conflict queues nothing"
    );
    let mut other_type = original.clone();
    other_type.request_type = "DeviceLock".into();
    assert!(matches!(
        store.enqueue(&other_type, std::slice::from_ref(&a)).await,
        Err(Error::StoreConflict(_))
    ));
    assert_eq!(
        store
            .get_command(&name)
            .await
            .expect("get")
            .map(|c| c.payload),
        Some(original.payload.clone())
    );
    assert!(matches!(
        store.enqueue(&command(&unique("empty"), 0), &[]).await,
        Err(Error::StoreInput(_))
    ));
}

/// Bulk enqueue stores the command once and reports a status per target.
pub async fn queue_bulk_enqueue_and_status(store: &dyn Store) {
    let prefix = unique("bulk");
    let targets: Vec<EnrollmentId> = (0..50)
        .map(|i| EnrollmentId::device(&format!("{prefix}-{i:03}")))
        .collect();
    let name = unique("cmd");
    let queued = command(&name, 3);
    store
        .enqueue(&queued, &targets)
        .await
        .expect("bulk enqueue");
    let stored = store
        .get_command(&name)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.request_type, queued.request_type);
    assert_eq!(stored.payload, queued.payload);
    assert_eq!(stored.priority, 3);
    assert_eq!(stored.created_at, queued.created_at);
    assert!(store
        .get_command(&unique("none"))
        .await
        .expect("get")
        .is_none());

    let first = store
        .next_command(&targets[0], &NextCommand::after_idle())
        .await
        .expect("next")
        .expect("command");
    assert_eq!(first.command_uuid, name);
    store
        .record_result(
            &targets[0],
            &CommandResultRecord::new(
                &name,
                CommandStatus::Acknowledged,
                b"<plist>ok</plist>".to_vec(),
            ),
        )
        .await
        .expect("result");
    store
        .next_command(&targets[1], &NextCommand::after_idle())
        .await
        .expect("next");

    let statuses = store.command_status(&name).await.expect("status");
    assert_eq!(statuses.len(), 50);
    assert_eq!(
        statuses
            .iter()
            .map(|s| s.enrollment_id.clone())
            .collect::<Vec<_>>(),
        targets,
        "ordered by enrollment"
    );
    assert_eq!(statuses[0].status, Some(CommandStatus::Acknowledged));
    let result = statuses[0].result.as_ref().expect("result stored");
    assert_eq!(result.payload, b"<plist>ok</plist>".to_vec());
    assert_eq!(result.status, CommandStatus::Acknowledged);
    assert!(statuses[1].status.is_none());
    assert!(
        statuses[1].delivered_at.is_some(),
        "handed out, awaiting an answer"
    );
    assert!(statuses[2].delivered_at.is_none());
    assert!(statuses[2..].iter().all(|s| !s.is_finished()));
}

/// Concurrent dequeues for one enrollment never hand out the same command twice.
pub async fn queue_concurrent_dequeue(store: &dyn Store) {
    let id = EnrollmentId::device(&unique("concurrent"));
    let mut names: Vec<String> = (0..24).map(|i| unique(&format!("c{i:02}"))).collect();
    for name in &names {
        store
            .enqueue(&command(name, 0), std::slice::from_ref(&id))
            .await
            .expect("enqueue");
    }
    let request = NextCommand::after_idle();
    let (w, x, y, z) = tokio::join!(
        drain(store, &id, &request),
        drain(store, &id, &request),
        drain(store, &id, &request),
        drain(store, &id, &request)
    );
    let mut handed: Vec<String> = w.into_iter().chain(x).chain(y).chain(z).collect();
    handed.sort();
    names.sort();
    assert_eq!(handed, names, "every command handed out exactly once");
}

/// A command handed out and never answered is handed out again only after
/// `redeliver_after`.
pub async fn queue_redelivery(store: &dyn Store) {
    let id = EnrollmentId::device(&unique("redeliver"));
    let name = unique("cmd");
    store
        .enqueue(&command(&name, 0), std::slice::from_ref(&id))
        .await
        .expect("enqueue");
    let start = NextCommand::after_idle().at(at(0));
    assert!(store
        .next_command(&id, &start)
        .await
        .expect("next")
        .is_some());
    let soon = NextCommand::after_idle().at(at(60));
    assert!(
        store
            .next_command(&id, &soon)
            .await
            .expect("next")
            .is_none(),
        "still in flight"
    );
    let later = NextCommand::after_idle().at(at(0) + NextCommand::DEFAULT_REDELIVER_AFTER);
    let again = store.next_command(&id, &later).await.expect("next");
    assert_eq!(again.map(|c| c.command_uuid), Some(name));
}

/// Finished targets older than the cutoff are purged, with commands left with no target;
/// pending ones stay.
pub async fn queue_purge_finished(store: &dyn Store) {
    let id = EnrollmentId::device(&unique("purge"));
    let old = unique("old");
    let recent = unique("recent");
    let pending = unique("pending");
    for name in [&old, &recent, &pending] {
        store
            .enqueue(&command(name, 0), std::slice::from_ref(&id))
            .await
            .expect("enqueue");
    }
    let mut result = CommandResultRecord::new(&old, CommandStatus::Acknowledged, Vec::new());
    result.received_at = at(-10_000);
    store.record_result(&id, &result).await.expect("result");
    let mut result = CommandResultRecord::new(&recent, CommandStatus::Error, Vec::new());
    result.received_at = at(10_000);
    store.record_result(&id, &result).await.expect("result");

    let removed = store.purge_finished(at(0)).await.expect("purge");
    assert!(removed >= 1, "the old finished target is removed");
    assert!(store.command_status(&old).await.expect("status").is_empty());
    assert!(
        store.get_command(&old).await.expect("get").is_none(),
        "orphan command removed"
    );
    assert_eq!(
        store.command_status(&recent).await.expect("status").len(),
        1
    );
    assert!(store.get_command(&pending).await.expect("get").is_some());
    assert_eq!(store.pending_commands(&id).await.expect("pending").len(), 1);
}

/// `clear_pending` removes an enrollment's pending commands only (not its finished ones,
/// not another enrollment's); enrollments are found by their identity certificate hash.
pub async fn queue_clear_pending_and_identity_query(store: &dyn Store) {
    let id = EnrollmentId::device(&unique("clear"));
    let other = EnrollmentId::device(&unique("clear-other"));
    let done = unique("done");
    let waiting = unique("waiting");
    let deferred = unique("deferred");
    for name in [&done, &waiting, &deferred] {
        store
            .enqueue(&command(name, 0), &[id.clone(), other.clone()])
            .await
            .expect("enqueue");
    }
    ack(store, &id, &done, CommandStatus::Acknowledged).await;
    ack(store, &id, &deferred, CommandStatus::NotNow).await;
    assert_eq!(store.clear_pending(&id).await.expect("clear"), 2);
    assert!(store
        .pending_commands(&id)
        .await
        .expect("pending")
        .is_empty());
    assert_eq!(
        store.pending_commands(&other).await.expect("pending").len(),
        3
    );
    let finished = store.command_status(&done).await.expect("status");
    assert!(finished
        .iter()
        .any(|target| target.enrollment_id == id && target.is_finished()));
    assert_eq!(store.clear_pending(&id).await.expect("clear again"), 0);

    let hash = unique("identity-hash");
    let mut record = EnrollmentRecord::new(id.clone());
    record.identity_cert_sha256 = Some(hash.clone());
    store.put_enrollment(&record).await.expect("put");
    store
        .put_enrollment(&EnrollmentRecord::new(other.clone()))
        .await
        .expect("put");
    let query = EnrollmentQuery {
        identity_cert_sha256: Some(hash),
        ..EnrollmentQuery::default()
    };
    let found = store.list_enrollments(&query).await.expect("list");
    assert_eq!(
        found.into_iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![id]
    );
}

/// Push certificates per topic, their history and pending CSR keys.
pub async fn push_certificates(store: &dyn Store) {
    let topic = unique("com.apple.mgmt.External");
    let mut record = PushCertificateRecord::new(
        &topic,
        b"certificate-der".to_vec(),
        Secret::from("-----BEGIN PRIVATE KEY----- push"),
        at(86_400 * 365),
    );
    record.apple_id = Some("admin@example.com".into());
    record.note = Some("obtained today".into());
    store.put_push_certificate(&record).await.expect("put");
    assert_eq!(
        store.get_push_certificate(&topic).await.expect("get"),
        Some(record.clone())
    );
    assert!(store
        .list_push_certificates()
        .await
        .expect("list")
        .iter()
        .any(|r| r.topic == topic));
    record.note = Some("renewed".into());
    record.not_after = at(86_400 * 730);
    store.put_push_certificate(&record).await.expect("renew");
    assert_eq!(
        store.get_push_certificate(&topic).await.expect("get"),
        Some(record.clone())
    );

    let mut installed = PushCertificateEvent::new(&topic, PushCertificateAction::Installed);
    installed.serial = Some("01ab".into());
    installed.not_after = Some(at(86_400 * 365));
    installed.apple_id = record.apple_id.clone();
    installed.note = Some("obtained today".into());
    installed.at = at(0);
    let mut deleted = PushCertificateEvent::new(&topic, PushCertificateAction::Deleted);
    deleted.note = Some("renewed".into());
    deleted.at = at(10);
    store
        .append_push_certificate_event(&installed)
        .await
        .expect("append");
    store
        .append_push_certificate_event(&deleted)
        .await
        .expect("append");
    assert_eq!(
        store
            .push_certificate_history(&topic)
            .await
            .expect("history"),
        vec![installed, deleted]
    );
    assert!(store.delete_push_certificate(&topic).await.expect("delete"));
    assert!(!store
        .delete_push_certificate(&topic)
        .await
        .expect("delete again"));
    assert!(store
        .get_push_certificate(&topic)
        .await
        .expect("get")
        .is_none());
    assert_eq!(
        store
            .push_certificate_history(&topic)
            .await
            .expect("history")
            .len(),
        2,
        "history survives deletion"
    );
    let latest = store
        .latest_push_certificate_events()
        .await
        .expect("latest events");
    let mine: Vec<_> = latest.iter().filter(|e| e.topic == topic).collect();
    assert_eq!(mine.len(), 1, "one event per topic");
    assert_eq!(mine[0].action, PushCertificateAction::Deleted);
    assert_eq!(mine[0].note.as_deref(), Some("renewed"));
    assert!(
        latest.windows(2).all(|w| w[0].topic < w[1].topic),
        "ordered by topic"
    );

    let key_id = unique("csr");
    let mut key = PendingCsrKey::new(&key_id, Secret::from("csr private key"));
    key.created_at = at(3);
    store.put_pending_csr_key(&key).await.expect("put key");
    assert_eq!(
        store.get_pending_csr_key(&key_id).await.expect("get"),
        Some(key.clone())
    );
    assert!(store
        .list_pending_csr_keys()
        .await
        .expect("list")
        .contains(&key));
    assert!(store.delete_pending_csr_key(&key_id).await.expect("delete"));
    assert!(store
        .get_pending_csr_key(&key_id)
        .await
        .expect("get")
        .is_none());
}

/// Expiry notice claims: once per interval, atomic across concurrent claimers, released
/// only by their own claim.
pub async fn expiry_notice_claims(store: &dyn Store) {
    let key = unique("push_certificate:com.apple.mgmt.External");
    let week = time::Duration::days(7);
    assert!(store.claim_notice(&key, at(0), week).await.expect("claim"));
    assert!(
        !store.claim_notice(&key, at(60), week).await.expect("claim"),
        "a second claim within the interval is refused"
    );
    assert!(
        !store
            .claim_notice(&key, at(0) + week - time::Duration::seconds(1), week)
            .await
            .expect("claim"),
        "still within the interval"
    );
    assert!(
        store
            .claim_notice(&key, at(0) + week, week)
            .await
            .expect("claim"),
        "a full interval later the notice is due again"
    );
    let other = unique("dep_server_token:Main");
    assert!(
        store
            .claim_notice(&other, at(60), week)
            .await
            .expect("claim"),
        "keys are independent"
    );

    // Giving a claim back: only the claim made at that time is released.
    assert!(!store
        .release_notice(&key, at(0))
        .await
        .expect("release an older claim"));
    assert!(!store
        .claim_notice(&key, at(0) + week + time::Duration::hours(1), week)
        .await
        .expect("claim"));
    assert!(store
        .release_notice(&key, at(0) + week)
        .await
        .expect("release"));
    assert!(store
        .claim_notice(&key, at(0) + week + time::Duration::hours(1), week)
        .await
        .expect("claim after release"));
    assert!(!store
        .release_notice(&unique("never-claimed"), at(0))
        .await
        .expect("release unknown"));
    // An interval too large for the calendar refuses a repeat instead of failing.
    assert!(!store
        .claim_notice(&other, at(120), time::Duration::MAX)
        .await
        .expect("huge interval"));

    // Several servers claiming at once: exactly one wins.
    let race = unique("vendor_certificate:CN=Vendor");
    let claim = || store.claim_notice(&race, at(500), week);
    let (a, b, c, d) = tokio::join!(claim(), claim(), claim(), claim());
    let won = [a, b, c, d]
        .into_iter()
        .map(|claimed| claimed.expect("concurrent claim"))
        .filter(|claimed| *claimed)
        .count();
    assert_eq!(won, 1, "one of the concurrent claims wins");
}

/// Certificate kinds and user certificates.
pub async fn user_certificates(store: &dyn Store) {
    let kind_id = unique("kind");
    let mut kind = CertificateKind::new(
        &kind_id,
        "S/MIME encryption",
        CertificatePurpose::Encryption,
    );
    kind.description = Some("for e-mail".into());
    store.put_certificate_kind(&kind).await.expect("put kind");
    assert_eq!(
        store.get_certificate_kind(&kind_id).await.expect("get"),
        Some(kind.clone())
    );
    assert!(store
        .list_certificate_kinds()
        .await
        .expect("list")
        .contains(&kind));

    let owner = unique("owner");
    let mut first =
        UserCertificateRecord::new(unique("cert"), &owner, &kind_id, "Alice", b"der".to_vec());
    first.pkcs12 = Some(Secret::new(b"p12-blob".to_vec()));
    first.pkcs12_password = Some(Secret::from("p12-password"));
    first.has_private_key = true;
    first.subject = Some("CN=Alice".into());
    first.issuer = Some("CN=CA".into());
    first.serial = Some("0a".into());
    first.not_after = Some(at(1000));
    first.uploaded_at = at(1);
    let mut second = UserCertificateRecord::new(
        unique("cert"),
        &owner,
        &kind_id,
        "Alice 2",
        b"der2".to_vec(),
    );
    second.uploaded_at = at(2);
    store.put_user_certificate(&second).await.expect("put");
    store.put_user_certificate(&first).await.expect("put");
    assert_eq!(
        store.get_user_certificate(&first.id).await.expect("get"),
        Some(first.clone())
    );
    assert_eq!(
        store.list_user_certificates(&owner).await.expect("list"),
        vec![first.clone(), second.clone()]
    );

    first.pkcs12 = None;
    first.pkcs12_password = None;
    first.has_private_key = false;
    store.put_user_certificate(&first).await.expect("clear key");
    assert_eq!(
        store.get_user_certificate(&first.id).await.expect("get"),
        Some(first.clone())
    );
    assert!(store
        .delete_user_certificate(&second.id)
        .await
        .expect("delete"));
    assert_eq!(
        store
            .list_user_certificates(&owner)
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(store
        .delete_certificate_kind(&kind_id)
        .await
        .expect("delete kind"));
    assert!(store
        .get_certificate_kind(&kind_id)
        .await
        .expect("get")
        .is_none());
}

/// Configurations, the kinds they use, and assignments.
pub async fn configurations(store: &dyn Store) {
    let kind = unique("kind");
    let id = unique("config");
    let mut config = ConfigurationRecord::new(&id, "Mail", b"<plist>profile</plist>".to_vec());
    config.certificate_kinds = vec![kind.clone(), "other".into()];
    store.put_configuration(&config).await.expect("put");
    assert_eq!(
        store.get_configuration(&id).await.expect("get"),
        Some(config.clone())
    );
    assert!(store
        .list_configurations()
        .await
        .expect("list")
        .contains(&config));
    assert_eq!(
        store.configurations_using_kind(&kind).await.expect("using"),
        vec![config.clone()]
    );

    let user = AssignmentTarget::User(unique("user"));
    let device = AssignmentTarget::Enrollment(EnrollmentId::device(&unique("dev")));
    let mut first = Assignment::new(&id, user.clone());
    first.assigned_at = at(1);
    store.assign_configuration(&first).await.expect("assign");
    let mut again = first.clone();
    again.assigned_at = at(2);
    store
        .assign_configuration(&again)
        .await
        .expect("assign again");
    store
        .assign_configuration(&Assignment::new(&id, device.clone()))
        .await
        .expect("assign device");
    let assignments = store.assignments_of_configuration(&id).await.expect("list");
    assert_eq!(assignments.len(), 2);
    assert_eq!(
        assignments[0].target, device,
        "enrollment sorts before user"
    );
    assert_eq!(
        assignments[1], first,
        "assigning again keeps the first time"
    );
    assert_eq!(
        store.assignments_of_target(&user).await.expect("of target"),
        vec![first]
    );
    let missing = Assignment::new(unique("missing"), user.clone());
    assert!(matches!(
        store.assign_configuration(&missing).await,
        Err(Error::NotFound { .. })
    ));
    assert!(store
        .unassign_configuration(&id, &user)
        .await
        .expect("unassign"));
    assert!(!store
        .unassign_configuration(&id, &user)
        .await
        .expect("unassign again"));
    assert!(store.delete_configuration(&id).await.expect("delete"));
    assert!(store.get_configuration(&id).await.expect("get").is_none());
    assert!(store
        .assignments_of_target(&device)
        .await
        .expect("of target")
        .is_empty());
}

/// Portal users (unique e-mail), single-use tokens.
pub async fn portal_users_and_tokens(store: &dyn Store) {
    let id = unique("user");
    let email = format!("{}@Example.com", unique("alice"));
    let mut user = PortalUser::new(&id, &email);
    user.name = Some("Alice".into());
    user.password_hash = Some(Secret::from("$argon2id$v=19$hash"));
    store.put_portal_user(&user).await.expect("put");
    assert_eq!(
        store.get_portal_user(&id).await.expect("get"),
        Some(user.clone())
    );
    assert_eq!(
        store
            .find_portal_user_by_email(&email.to_uppercase())
            .await
            .expect("find"),
        Some(user.clone())
    );
    user.name = Some("Alice B".into());
    store.put_portal_user(&user).await.expect("update");
    let clash = PortalUser::new(unique("user"), email.to_lowercase());
    assert!(matches!(
        store.put_portal_user(&clash).await,
        Err(Error::StoreConflict(_))
    ));
    assert!(store
        .list_portal_users()
        .await
        .expect("list")
        .contains(&user));

    let hash = unique("tokenhash");
    let mut token = TokenRecord::new(&hash, TokenKind::Invitation, &id);
    token.email = Some(email.clone());
    token.created_at = at(0);
    token.expires_at = Some(at(100));
    token.invitation = Some(unique("invitation"));
    store.put_token(&token).await.expect("put token");
    assert!(matches!(
        store.put_token(&token).await,
        Err(Error::StoreConflict(_))
    ));
    assert_eq!(
        store.get_token(&hash).await.expect("get"),
        Some(token.clone())
    );
    assert!(
        store
            .use_token(&hash, at(100))
            .await
            .expect("use")
            .is_none(),
        "expired"
    );
    let used = store
        .use_token(&hash, at(50))
        .await
        .expect("use")
        .expect("first use");
    assert_eq!(used.used_at, Some(at(50)));
    assert!(
        store.use_token(&hash, at(51)).await.expect("use").is_none(),
        "single use"
    );
    assert!(store
        .use_token(&unique("none"), at(1))
        .await
        .expect("use")
        .is_none());

    let other = unique("tokenhash");
    let mut second = TokenRecord::new(&other, TokenKind::Enrollment, &id);
    second.created_at = at(1);
    store.put_token(&second).await.expect("put");
    let tokens = store.list_tokens(&id).await.expect("list");
    assert_eq!(
        tokens
            .iter()
            .map(|t| t.token_hash.clone())
            .collect::<Vec<_>>(),
        vec![hash.clone(), other.clone()]
    );
    assert!(store.delete_token(&other).await.expect("delete"));
    assert!(store.delete_portal_user(&id).await.expect("delete user"));
    assert!(
        store.get_token(&hash).await.expect("get").is_none(),
        "tokens go with the user"
    );
    assert!(store.get_portal_user(&id).await.expect("get").is_none());
}

/// Administrators (unique e-mail), their sessions, kept apart from portal users.
pub async fn admin_users(store: &dyn Store) {
    let id = unique("admin");
    let email = format!("{}@Example.com", unique("root"));
    let mut admin = AdminUserRecord::new(&id, &email);
    admin.name = Some("Root".into());
    admin.password_hash = Some(Secret::from("$argon2id$v=19$hash"));
    store.put_admin_user(&admin).await.expect("put admin");
    assert_eq!(
        store.get_admin_user(&id).await.expect("get"),
        Some(admin.clone())
    );
    assert_eq!(
        store
            .find_admin_user_by_email(&email.to_uppercase())
            .await
            .expect("find"),
        Some(admin.clone())
    );
    assert!(
        store
            .find_portal_user_by_email(&email)
            .await
            .expect("find portal")
            .is_none(),
        "administrators are not portal users"
    );
    admin.enabled = false;
    admin.name = None;
    store.put_admin_user(&admin).await.expect("update");
    assert_eq!(
        store.get_admin_user(&id).await.expect("get"),
        Some(admin.clone())
    );
    let clash = AdminUserRecord::new(unique("admin"), email.to_lowercase());
    assert!(matches!(
        store.put_admin_user(&clash).await,
        Err(Error::StoreConflict(_))
    ));
    // A portal user may have an administrator's address: the two are separate.
    let portal = PortalUser::new(&id, &email);
    store.put_portal_user(&portal).await.expect("portal user");
    assert!(store
        .list_admin_users()
        .await
        .expect("list")
        .contains(&admin));

    let session = unique("adminsession");
    let mut token = TokenRecord::new(&session, TokenKind::AdminSession, &id);
    token.created_at = at(0);
    token.expires_at = Some(at(100));
    store.put_token(&token).await.expect("put session");
    let portal_session = unique("portalsession");
    store
        .put_token(&TokenRecord::new(&portal_session, TokenKind::Session, &id))
        .await
        .expect("put portal session");
    assert_eq!(
        store.get_token(&session).await.expect("get"),
        Some(token.clone())
    );
    assert!(store.delete_portal_user(&id).await.expect("delete portal"));
    assert!(
        store.get_token(&session).await.expect("get").is_some(),
        "deleting a portal user keeps an administrator's sessions"
    );
    assert!(store
        .get_token(&portal_session)
        .await
        .expect("get")
        .is_none());
    store
        .put_portal_user(&portal)
        .await
        .expect("portal user again");
    let portal_session = unique("portalsession");
    store
        .put_token(&TokenRecord::new(&portal_session, TokenKind::Session, &id))
        .await
        .expect("put portal session");
    assert!(store.delete_admin_user(&id).await.expect("delete admin"));
    assert!(!store.delete_admin_user(&id).await.expect("delete again"));
    assert!(
        store.get_token(&session).await.expect("get").is_none(),
        "sessions go with the administrator"
    );
    assert!(
        store
            .get_token(&portal_session)
            .await
            .expect("get")
            .is_some(),
        "deleting an administrator keeps a portal user's sessions"
    );
    assert!(store.get_admin_user(&id).await.expect("get").is_none());
    assert!(store.delete_portal_user(&id).await.expect("cleanup"));
}

/// Privacy settings and the audit log.
pub async fn privacy_and_audit(store: &dyn Store) {
    let settings = PrivacySettings {
        allow_location: true,
        allow_app_inventory: false,
    };
    store.put_privacy_settings(&settings).await.expect("put");
    assert_eq!(store.get_privacy_settings().await.expect("get"), settings);

    let actor = unique("admin");
    let mut ids = Vec::new();
    for (i, action) in ["device.lock", "device.wipe", "device.lock"]
        .iter()
        .enumerate()
    {
        let mut event = AuditEvent::new(&actor, *action);
        event.target = Some(format!("target-{}", i % 2));
        event.detail = Some("{\"k\":1}".into());
        event.at = at(i as i64);
        ids.push(store.append_audit_event(&event).await.expect("append"));
    }
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids increase");
    let mut query = AuditQuery {
        actor: Some(actor.clone()),
        ..AuditQuery::default()
    };
    let events = store.list_audit_events(&query).await.expect("list");
    assert_eq!(
        events.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1], ids[0]]
    );
    assert_eq!(events[0].action, "device.lock");
    assert_eq!(events[0].at, at(2));
    assert_eq!(events[0].detail.as_deref(), Some("{\"k\":1}"));
    query.target = Some("target-0".into());
    assert_eq!(
        store.list_audit_events(&query).await.expect("list").len(),
        2
    );
    query.target = None;
    query.limit = Some(1);
    query.before_id = Some(ids[2]);
    let page = store.list_audit_events(&query).await.expect("list");
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ids[1]]);
}

/// Privacy overrides per user and per enrollment, and their precedence: the enrollment's
/// override, else the user's, else the server-wide settings, field by field.
pub async fn privacy_overrides_precedence(store: &dyn Store) {
    use super::effective_privacy;

    let user = unique("privacy-user");
    let enrollment = EnrollmentId::device(&unique("PRIVACY-UDID"));
    let user_scope = PrivacyScope::User(user.clone());
    let device_scope = PrivacyScope::Enrollment(enrollment.clone());
    let server = PrivacySettings {
        allow_location: false,
        allow_app_inventory: true,
    };
    store
        .put_privacy_settings(&server)
        .await
        .expect("put server");
    assert_eq!(
        store.get_privacy_override(&user_scope).await.expect("get"),
        None
    );

    let effective = effective_privacy(store, Some(&enrollment), Some(&user))
        .await
        .expect("effective");
    assert_eq!(
        (effective.location.allowed, effective.location.source),
        (false, PrivacySource::Server)
    );
    assert_eq!(
        (
            effective.app_inventory.allowed,
            effective.app_inventory.source
        ),
        (true, PrivacySource::Server)
    );

    let by_user = PrivacyOverride {
        allow_location: Some(true),
        ..PrivacyOverride::default()
    };
    store
        .put_privacy_override(&user_scope, &by_user)
        .await
        .expect("put user");
    assert_eq!(
        store.get_privacy_override(&user_scope).await.expect("get"),
        Some(by_user)
    );
    let effective = effective_privacy(store, Some(&enrollment), Some(&user))
        .await
        .expect("effective");
    assert_eq!(
        (effective.location.allowed, effective.location.source),
        (true, PrivacySource::User),
        "the user's override wins over the server"
    );
    assert_eq!(
        effective.app_inventory.source,
        PrivacySource::Server,
        "a field the override leaves out is inherited"
    );

    let mut by_device = PrivacyOverride {
        allow_location: Some(false),
        allow_app_inventory: Some(false),
    };
    store
        .put_privacy_override(&device_scope, &by_device)
        .await
        .expect("put device");
    let effective = effective_privacy(store, Some(&enrollment), Some(&user))
        .await
        .expect("effective");
    assert_eq!(
        (effective.location.allowed, effective.location.source),
        (false, PrivacySource::Enrollment),
        "the device's override wins over the user's"
    );
    assert_eq!(
        (
            effective.app_inventory.allowed,
            effective.app_inventory.source
        ),
        (false, PrivacySource::Enrollment)
    );
    // The user's other devices still follow the user's override.
    let other = EnrollmentId::device(&unique("PRIVACY-OTHER"));
    let effective = effective_privacy(store, Some(&other), Some(&user))
        .await
        .expect("effective");
    assert_eq!(
        (effective.location.allowed, effective.location.source),
        (true, PrivacySource::User)
    );

    // Replacing is whole-record: a field set back to None inherits again.
    by_device.allow_location = None;
    store
        .put_privacy_override(&device_scope, &by_device)
        .await
        .expect("replace device");
    let effective = effective_privacy(store, Some(&enrollment), Some(&user))
        .await
        .expect("effective");
    assert_eq!(effective.location.source, PrivacySource::User);

    assert!(store
        .delete_privacy_override(&user_scope)
        .await
        .expect("delete"));
    assert!(!store
        .delete_privacy_override(&user_scope)
        .await
        .expect("delete again"));
    let effective = effective_privacy(store, Some(&enrollment), Some(&user))
        .await
        .expect("effective");
    assert_eq!(
        (effective.location.allowed, effective.location.source),
        (false, PrivacySource::Server)
    );
    assert!(store
        .delete_privacy_override(&device_scope)
        .await
        .expect("delete device"));
    assert_eq!(
        store
            .get_privacy_override(&device_scope)
            .await
            .expect("get"),
        None
    );
    // A user and an enrollment with the same id are different scopes.
    let same = PrivacyScope::User(enrollment.as_str().to_owned());
    store
        .put_privacy_override(&same, &by_user)
        .await
        .expect("put");
    assert_eq!(
        store
            .get_privacy_override(&device_scope)
            .await
            .expect("get"),
        None
    );
    assert!(store.delete_privacy_override(&same).await.expect("delete"));
}

/// The portal's branding: stored, read back, then replaced as a whole.
pub async fn branding(store: &dyn Store) {
    let mut branding = Branding::new(unique("Example Corp"));
    branding.primary_colour = Some("#112233".into());
    branding.accent_colour = Some("#AABBCC".into());
    branding.logo = Some(vec![0x89, b'P', b'N', b'G', 0, 1, 2, 255]);
    branding.logo_content_type = Some("image/png".into());
    branding.updated_at = at(5);
    store.put_branding(&branding).await.expect("put");
    assert_eq!(
        store.get_branding().await.expect("get"),
        Some(branding.clone())
    );
    let mut plain = Branding::new(unique("Plain"));
    plain.updated_at = at(6);
    store.put_branding(&plain).await.expect("replace");
    assert_eq!(store.get_branding().await.expect("get"), Some(plain));
}

/// Failed sign-ins: counted per account, locking at the limit until the lockout ends,
/// forgotten after a success or once older than the lockout.
pub async fn sign_in_failures(store: &dyn Store) {
    // A day ago, so that forgetting old entries never touches those of live servers
    // sharing the database.
    let base = now_micros() - time::Duration::days(1);
    let t = |seconds: i64| base + time::Duration::seconds(seconds);
    let lockout = time::Duration::seconds(600);
    let account = unique("someone@example.com");
    let other = unique("other@example.com");
    let fail = |account: &str, at: OffsetDateTime, max: u32| {
        let account = account.to_owned();
        async move {
            store
                .record_sign_in_failure(&account, at, max, lockout)
                .await
                .expect("record failure")
        }
    };
    let locked = |account: &str, at: OffsetDateTime| {
        let account = account.to_owned();
        async move {
            store
                .sign_in_locked_until(&account, at)
                .await
                .expect("locked until")
        }
    };

    assert_eq!(fail(&account, t(0), 3).await, None);
    assert_eq!(fail(&account, t(10), 3).await, None);
    assert_eq!(locked(&account, t(10)).await, None);
    assert_eq!(
        fail(&account, t(20), 3).await,
        Some(t(620)),
        "third failure locks"
    );
    assert_eq!(locked(&account, t(21)).await, Some(t(620)));
    assert_eq!(locked(&other, t(21)).await, None, "per account");
    assert_eq!(
        fail(&account, t(30), 3).await,
        Some(t(620)),
        "a failure while locked does not extend the lockout"
    );
    assert_eq!(locked(&account, t(620)).await, None, "the lockout ends");
    assert_eq!(
        fail(&account, t(700), 3).await,
        None,
        "counting starts again"
    );
    assert_eq!(fail(&account, t(710), 3).await, None);
    store.clear_sign_in_failures(&account).await.expect("clear");
    assert_eq!(fail(&account, t(720), 3).await, None, "a success forgets");
    assert_eq!(fail(&account, t(730), 3).await, None);
    assert_eq!(
        fail(&account, t(2000), 3).await,
        None,
        "failures further apart than the lockout do not add up"
    );
    assert_eq!(fail(&account, t(2010), 3).await, None);
    assert_eq!(fail(&account, t(2020), 3).await, Some(t(2620)));
    assert_eq!(fail(&other, t(0), 1).await, Some(t(600)), "a limit of one");
}

/// Settings: plain and secret values stored, read back, replaced (a secret by a plain
/// value and back), listed in name order, deleted.
pub async fn settings(store: &dyn Store) {
    let url = unique("server_url");
    let password = unique("smtp_password");
    assert_eq!(
        store.get_setting(&url).await.expect("get"),
        None,
        "settings: unknown name"
    );
    let plain = SettingValue::Plain("https://mdm.example.com/mdm".into());
    store.put_setting(&url, &plain).await.expect("put plain");
    let secret = SettingValue::Secret(Secret::new(b"hunter2".to_vec()));
    store
        .put_setting(&password, &secret)
        .await
        .expect("put secret");
    assert_eq!(
        store.get_setting(&url).await.expect("get"),
        Some(plain.clone())
    );
    assert_eq!(
        store.get_setting(&password).await.expect("get"),
        Some(secret.clone())
    );

    let replaced = SettingValue::Plain("https://other.example.com/".into());
    store
        .put_setting(&password, &replaced)
        .await
        .expect("replace secret");
    assert_eq!(
        store.get_setting(&password).await.expect("get"),
        Some(replaced)
    );
    store
        .put_setting(&password, &secret)
        .await
        .expect("replace plain");
    assert_eq!(
        store.get_setting(&password).await.expect("get"),
        Some(secret.clone())
    );

    let listed = store.list_settings().await.expect("list");
    let mine: Vec<_> = listed
        .iter()
        .filter(|(name, _)| name == &url || name == &password)
        .cloned()
        .collect();
    let mut expected = vec![(url.clone(), plain), (password.clone(), secret)];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(mine, expected, "settings: list in name order");
    let names: Vec<&String> = listed.iter().map(|(name, _)| name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "settings: list ordered by name");

    assert!(store.delete_setting(&url).await.expect("delete"));
    assert!(!store.delete_setting(&url).await.expect("delete again"));
    assert_eq!(store.get_setting(&url).await.expect("get"), None);
}

/// Declarations: written all at once, replaced by Identifier, listed per set, served to
/// the enrollments their set is assigned to (and to no other), deleted.
pub async fn declarations(store: &dyn Store) {
    let set = unique("set");
    let other_set = unique("other-set");
    let a = unique("decl-a");
    let b = unique("decl-b");
    let c = unique("decl-c");
    let device = EnrollmentId::device(&unique("ddm-device"));
    let other = EnrollmentId::device(&unique("ddm-other"));
    let record = |id: &str, set: &str, token: &str| {
        let mut r = DeclarationRecord::new(
            id,
            "com.apple.configuration.passcode.settings",
            set,
            token,
            format!("{{\"Identifier\":\"{id}\",\"ServerToken\":\"{token}\"}}"),
        );
        r.updated_at = at(10);
        r
    };
    store
        .put_declarations(&[record(&a, &set, "t1"), record(&b, &set, "t1")])
        .await
        .expect("put_declarations");
    store
        .put_declarations(&[record(&c, &other_set, "t1")])
        .await
        .expect("put_declarations");
    assert_eq!(
        store.get_declaration(&a).await.expect("get_declaration"),
        Some(record(&a, &set, "t1")),
        "a declaration round-trips"
    );
    assert_eq!(
        store.get_declaration(&unique("none")).await.expect("get"),
        None
    );
    let listed = store.list_declarations(Some(&set)).await.expect("list");
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(
        listed
            .iter()
            .map(|r| r.identifier.clone())
            .collect::<Vec<_>>(),
        expected,
        "a set lists its declarations by Identifier"
    );
    assert!(store
        .list_declarations(None)
        .await
        .expect("list all")
        .iter()
        .any(|r| r.identifier == c));

    // Replaced by Identifier (new token and set).
    store
        .put_declarations(&[record(&b, &other_set, "t2")])
        .await
        .expect("replace");
    assert_eq!(
        store
            .get_declaration(&b)
            .await
            .expect("get")
            .map(|r| (r.server_token, r.set_name)),
        Some(("t2".to_owned(), other_set.clone()))
    );

    // Assignments: once per (set, enrollment); the enrollment gets its sets' declarations.
    assert!(store
        .declarations_for_enrollment(&device)
        .await
        .expect("for")
        .is_empty());
    store
        .assign_declaration_set(&set, &device)
        .await
        .expect("assign");
    store
        .assign_declaration_set(&set, &device)
        .await
        .expect("assign again");
    store
        .assign_declaration_set(&other_set, &other)
        .await
        .expect("assign other");
    assert_eq!(
        store.declaration_sets_of(&device).await.expect("sets"),
        vec![set.clone()]
    );
    assert_eq!(
        store
            .enrollments_of_declaration_set(&set)
            .await
            .expect("enrollments"),
        vec![device.clone()]
    );
    let ids = |records: Vec<DeclarationRecord>| {
        records
            .into_iter()
            .map(|r| r.identifier)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store
            .declarations_for_enrollment(&device)
            .await
            .expect("for")),
        vec![a.clone()]
    );
    let mut expected = vec![b.clone(), c.clone()];
    expected.sort();
    assert_eq!(
        ids(store
            .declarations_for_enrollment(&other)
            .await
            .expect("for")),
        expected
    );
    assert!(store
        .unassign_declaration_set(&set, &device)
        .await
        .expect("unassign"));
    assert!(!store
        .unassign_declaration_set(&set, &device)
        .await
        .expect("unassign again"));
    assert!(store
        .declarations_for_enrollment(&device)
        .await
        .expect("for")
        .is_empty());

    assert!(store.delete_declaration(&c).await.expect("delete"));
    assert!(!store.delete_declaration(&c).await.expect("delete again"));
    assert_eq!(
        ids(store
            .declarations_for_enrollment(&other)
            .await
            .expect("for")),
        vec![b]
    );

    // The last synced DeclarationsToken.
    assert_eq!(
        store
            .synced_declarations_token(&device)
            .await
            .expect("token"),
        None
    );
    store
        .set_synced_declarations_token(&device, "token-1")
        .await
        .expect("set token");
    store
        .set_synced_declarations_token(&device, "token-2")
        .await
        .expect("set token again");
    assert_eq!(
        store
            .synced_declarations_token(&device)
            .await
            .expect("token")
            .as_deref(),
        Some("token-2")
    );
}

/// Status reports: an incremental report replaces the items it carries, a full report
/// replaces them all; errors are replaced either way.
pub async fn declarative_status(store: &dyn Store) {
    let device = EnrollmentId::device(&unique("ddm-status"));
    assert_eq!(store.get_status(&device).await.expect("get_status"), None);
    // A synced token alone is not a status.
    store
        .set_synced_declarations_token(&device, "t")
        .await
        .expect("set token");
    assert_eq!(store.get_status(&device).await.expect("get_status"), None);
    let item = |name: &str, value: &str, seconds: i64| {
        let mut i = StatusItemRecord::new(name, value);
        i.reported_at = at(seconds);
        i
    };
    let mut full = StatusUpdate::new(
        vec![
            item("device.model.family", "\"iPhone\"", 1),
            item("passcode.is-present", "true", 1),
        ],
        "[]",
        true,
    );
    full.received_at = at(1);
    store
        .record_status(&device, &full)
        .await
        .expect("full report");
    let incremental = StatusUpdate::new(
        vec![item("passcode.is-present", "false", 2)],
        "[{\"StatusItem\":\"x\"}]",
        false,
    );
    store
        .record_status(&device, &incremental)
        .await
        .expect("incremental");
    let status = store
        .get_status(&device)
        .await
        .expect("get")
        .expect("a status");
    assert_eq!(
        status.items,
        vec![
            item("device.model.family", "\"iPhone\"", 1),
            item("passcode.is-present", "false", 2),
        ],
        "an incremental report replaces only its items"
    );
    assert_eq!(status.errors, "[{\"StatusItem\":\"x\"}]");
    assert_eq!(status.full_report_at, Some(at(1)));
    let mut full = StatusUpdate::new(vec![item("passcode.is-compliant", "true", 3)], "[]", true);
    full.received_at = at(3);
    store
        .record_status(&device, &full)
        .await
        .expect("second full report");
    let status = store
        .get_status(&device)
        .await
        .expect("get")
        .expect("a status");
    assert_eq!(status.items, vec![item("passcode.is-compliant", "true", 3)]);
    assert_eq!(status.errors, "[]");
    assert_eq!(status.full_report_at, Some(at(3)));
    assert_eq!(
        store
            .synced_declarations_token(&device)
            .await
            .expect("token")
            .as_deref(),
        Some("t"),
        "a status report keeps the synced token"
    );
}

/// Asset data the server serves: bytes round-trip, replaced by Identifier, deleted.
pub async fn asset_data(store: &dyn Store) {
    let asset = unique("asset");
    assert_eq!(store.get_asset_data(&asset).await.expect("get asset"), None);
    let mut data = AssetDataRecord::new(&asset, "application/zip", vec![0, 1, 2, 255]);
    data.updated_at = at(20);
    store.put_asset_data(&data).await.expect("put asset");
    assert_eq!(
        store.get_asset_data(&asset).await.expect("get asset"),
        Some(data)
    );
    let mut data = AssetDataRecord::new(&asset, "text/plain", b"new".to_vec());
    data.updated_at = at(21);
    store.put_asset_data(&data).await.expect("replace asset");
    assert_eq!(
        store.get_asset_data(&asset).await.expect("get asset"),
        Some(data)
    );
    assert!(store.delete_asset_data(&asset).await.expect("delete asset"));
    assert!(!store
        .delete_asset_data(&asset)
        .await
        .expect("delete asset again"));
}
