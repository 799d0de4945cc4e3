//! Command results: status, error chain and typed responses.

use mdmkit_core::command::{CommandResponse, DeviceInformationResponse, SecurityInfoResponse};
use mdmkit_core::{CommandResult, CommandStatus, PlistFormat};

fn result(body: &str, request_type: Option<&str>) -> Result<CommandResult, mdmkit_core::Error> {
    CommandResult::decode(body.as_bytes(), request_type)
}

#[test]
fn device_information_result_is_typed() {
    let body = r#"<plist version="1.0"><dict>
      <key>CommandUUID</key><string>C-1</string>
      <key>QueryResponses</key><dict>
        <key>HostName</key><string>fruit.example.com</string>
        <key>OSVersion</key><string>17.4</string>
        <key>IsSupervised</key><true/>
        <key>BatteryLevel</key><real>0.5</real>
        <key>NewKeyFromAFutureOS</key><string>kept</string>
      </dict>
      <key>RequestType</key><string>DeviceInformation</string>
      <key>Status</key><string>Acknowledged</string>
      <key>UDID</key><string>DEV-1</string>
    </dict></plist>"#;
    let result = result(body, None).unwrap();
    assert_eq!(result.status, CommandStatus::Acknowledged);
    assert_eq!(result.command_uuid.as_deref(), Some("C-1"));
    assert_eq!(result.enrollment_id.as_str(), "DEV-1");
    let Some(CommandResponse::DeviceInformation(DeviceInformationResponse {
        query_responses: Some(q),
        ..
    })) = &result.response
    else {
        panic!("not typed: {:?}", result.response);
    };
    assert_eq!(q.host_name.as_deref(), Some("fruit.example.com"));
    assert_eq!(q.os_version.as_deref(), Some("17.4"));
    assert_eq!(q.is_supervised, Some(true));
    assert_eq!(q.battery_level, Some(0.5));
    assert!(q.extra.contains_key("NewKeyFromAFutureOS"));
    // Round trip.
    let again = CommandResult::decode(&result.encode(PlistFormat::Binary).unwrap(), None).unwrap();
    assert_eq!(again, result);
}

#[test]
fn the_caller_supplies_the_request_type_when_the_device_does_not() {
    let body = r#"<plist version="1.0"><dict>
      <key>CommandUUID</key><string>C-2</string>
      <key>MessageResult</key><string>Success</string>
      <key>Status</key><string>Acknowledged</string>
      <key>UDID</key><string>DEV-1</string>
    </dict></plist>"#;
    let untyped = result(body, None).unwrap();
    assert!(matches!(untyped.response, Some(CommandResponse::Other(_))));
    let typed = result(body, Some("DeviceLock")).unwrap();
    let Some(CommandResponse::DeviceLock(lock)) = typed.response else {
        panic!("not typed");
    };
    assert_eq!(lock.message_result.as_deref(), Some("Success"));
}

#[test]
fn unknown_enumerated_values_in_answers_are_kept() {
    let body = r#"<plist version="1.0"><dict>
      <key>CommandUUID</key><string>C-3</string>
      <key>SecurityInfo</key><dict>
        <key>BootstrapTokenAllowedForAuthentication</key><string>someday</string>
      </dict>
      <key>Status</key><string>Acknowledged</string>
      <key>UDID</key><string>DEV-1</string>
    </dict></plist>"#;
    let result = result(body, Some("SecurityInfo")).unwrap();
    let Some(CommandResponse::SecurityInfo(SecurityInfoResponse {
        security_info: Some(info),
        ..
    })) = result.response
    else {
        panic!("not typed");
    };
    let value = info.bootstrap_token_allowed_for_authentication.unwrap();
    assert_eq!(value.as_str(), "someday");
}

#[test]
fn idle_error_and_not_now_results() {
    let idle = result(
        r#"<plist><dict><key>Status</key><string>Idle</string><key>UDID</key><string>D</string></dict></plist>"#,
        None,
    )
    .unwrap();
    assert_eq!(idle.status, CommandStatus::Idle);
    assert!(idle.command_uuid.is_none());
    assert!(idle.response.is_none());

    let error = result(
        r#"<plist><dict>
          <key>CommandUUID</key><string>C-4</string>
          <key>ErrorChain</key><array><dict>
            <key>ErrorCode</key><integer>12021</integer>
            <key>ErrorDomain</key><string>MCMDMErrorDomain</string>
            <key>LocalizedDescription</key><string>Le profil est introuvable</string>
            <key>USEnglishDescription</key><string>The profile cannot be found</string>
          </dict></array>
          <key>Status</key><string>Error</string>
          <key>UDID</key><string>D</string>
        </dict></plist>"#,
        Some("RemoveProfile"),
    )
    .unwrap();
    assert_eq!(error.status, CommandStatus::Error);
    assert_eq!(error.error_chain.len(), 1);
    assert_eq!(error.error_chain[0].error_code, 12021);
    assert_eq!(
        error.error_chain[0].us_english_description.as_deref(),
        Some("The profile cannot be found")
    );

    let not_now = result(
        r#"<plist><dict><key>CommandUUID</key><string>C-5</string><key>Status</key><string>NotNow</string><key>UDID</key><string>D</string></dict></plist>"#,
        None,
    )
    .unwrap();
    assert_eq!(not_now.status, CommandStatus::NotNow);
    assert!(!not_now.status.is_final());
}

#[test]
fn bad_results_get_typed_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "<plist><dict><key>UDID</key><string>D</string></dict></plist>",
            "missing_key",
        ),
        (
            "<plist><dict><key>Status</key><string>Done</string><key>UDID</key><string>D</string></dict></plist>",
            "unknown_status",
        ),
        (
            "<plist><dict><key>Status</key><string>Acknowledged</string><key>UDID</key><string>D</string></dict></plist>",
            "missing_key",
        ),
        (
            "<plist><dict><key>Status</key><integer>1</integer><key>UDID</key><string>D</string></dict></plist>",
            "wrong_type",
        ),
        (
            "<plist><dict><key>Status</key><string>Idle</string></dict></plist>",
            "missing_enrollment_id",
        ),
    ];
    for (body, code) in cases {
        let err = result(body, None).unwrap_err();
        assert_eq!(err.code(), *code, "{body}: {err}");
    }
    let err = result(
        "<plist><dict><key>Status</key><string>Acknowledged</string><key>UDID</key><string>D</string></dict></plist>",
        None,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "missing required key CommandUUID");
    let typed_mismatch = r#"<plist><dict><key>CommandUUID</key><string>C</string><key>QueryResponses</key><string>no</string><key>Status</key><string>Acknowledged</string><key>UDID</key><string>D</string></dict></plist>"#;
    let err = result(typed_mismatch, Some("DeviceInformation")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "DeviceInformation.QueryResponses: expected dictionary, found string"
    );
}
