//! The `mdmkit command|checkin|result` subcommands, run as a user runs them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn mdmkit(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mdmkit"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mdmkit runs");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or_default()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A refusal: exit code 2 and exactly one line on standard error.
fn assert_refused(output: &Output, needle: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    let err = stderr(output);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
}

#[test]
fn list_shows_every_request_type_with_platforms() {
    let out = mdmkit(&["command", "list"], None);
    assert!(out.status.success());
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 66);
    let lock = text.lines().find(|l| l.starts_with("DeviceLock ")).unwrap();
    assert!(
        lock.contains("iOS 4.0") && lock.contains("macOS 10.7"),
        "{lock}"
    );
}

#[test]
fn render_sets_keys_by_apples_names_and_parses_back() {
    let out = mdmkit(
        &[
            "command",
            "render",
            "InstallApplication",
            "--uuid",
            "U-1",
            "--set",
            "iTunesStoreID=361309726",
            "--set",
            "Options.PurchaseMethod=1",
            "--set",
            "InstallAsManaged=true",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let dict: plist::Dictionary = plist::from_bytes(&out.stdout).unwrap();
    assert_eq!(dict["CommandUUID"].as_string(), Some("U-1"));
    let command = dict["Command"].as_dictionary().unwrap();
    assert_eq!(
        command["RequestType"].as_string(),
        Some("InstallApplication")
    );
    assert_eq!(
        command["iTunesStoreID"].as_signed_integer(),
        Some(361309726)
    );
    assert_eq!(command["InstallAsManaged"].as_boolean(), Some(true));
    let options = command["Options"].as_dictionary().unwrap();
    assert_eq!(options["PurchaseMethod"].as_signed_integer(), Some(1));

    // And `command decode` reads it back.
    let decoded = mdmkit(&["command", "decode", "-"], Some(&out.stdout));
    assert!(decoded.status.success(), "{}", stderr(&decoded));
    let json: serde_json::Value = serde_json::from_slice(&decoded.stdout).unwrap();
    assert_eq!(json["request_type"], "InstallApplication");
    assert_eq!(json["command"]["Options"]["PurchaseMethod"], 1);
}

#[test]
fn render_takes_json_with_base64_data_and_nested_arrays() {
    let dir = std::env::temp_dir().join(format!("mdmkit-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("profile.json");
    std::fs::write(&spec, r#"{"Payload": "PHBsaXN0Lz4="}"#).unwrap();
    let out = mdmkit(
        &[
            "command",
            "render",
            "InstallProfile",
            "--json",
            spec.to_str().unwrap(),
            "--binary",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.starts_with(b"bplist00"));
    let dict: plist::Dictionary = plist::from_bytes(&out.stdout).unwrap();
    let command = dict["Command"].as_dictionary().unwrap();
    assert_eq!(command["Payload"].as_data(), Some(&b"<plist/>"[..]));

    let updates =
        r#"{"Updates": [{"ProductKey": "MSU_UPDATE_22A100", "InstallAction": "InstallASAP"}]}"#;
    let out = mdmkit(
        &["command", "render", "ScheduleOSUpdate", "--json", "-"],
        Some(updates.as_bytes()),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("<string>InstallASAP</string>"), "{text}");

    let settings = r#"{"Settings": [{"Item": "DeviceName", "DeviceName": "Kiosk 4"}]}"#;
    let out = mdmkit(
        &["command", "render", "Settings", "--json", "-"],
        Some(settings.as_bytes()),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("<string>Kiosk 4</string>"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn render_refusals_are_one_line_and_exit_2() {
    assert_refused(
        &mdmkit(&["command", "render", "MakeCoffee"], None),
        "unknown RequestType",
    );
    assert_refused(
        &mdmkit(
            &["command", "render", "DeviceLock", "--set", "Colour=red"],
            None,
        ),
        "unknown key DeviceLock.Colour",
    );
    assert_refused(
        &mdmkit(&["command", "render", "InstallProfile"], None),
        "missing required key InstallProfile.Payload",
    );
    assert_refused(
        &mdmkit(
            &[
                "command",
                "render",
                "InstallApplication",
                "--set",
                "iTunesStoreID=many",
            ],
            None,
        ),
        "InstallApplication.iTunesStoreID",
    );
    assert_refused(
        &mdmkit(
            &[
                "command",
                "render",
                "EraseDevice",
                "--set",
                "ObliterationBehavior=Sometimes",
            ],
            None,
        ),
        "not allowed",
    );
    assert_refused(
        &mdmkit(
            &["command", "render", "InstallProfile", "--json", "-"],
            Some(b"{\"Payload\": 3}"),
        ),
        "InstallProfile.Payload",
    );
    assert_refused(
        &mdmkit(
            &[
                "command",
                "render",
                "InstallProfile",
                "--json",
                "/nonexistent/x.json",
            ],
            None,
        ),
        "cannot read",
    );
    assert_refused(
        &mdmkit(
            &["command", "render", "DeviceLock", "--set", "Message"],
            None,
        ),
        "KEY=VALUE",
    );
}

#[test]
fn checkin_and_result_decode_print_json() {
    let token_update = br#"<plist version="1.0"><dict>
      <key>MessageType</key><string>TokenUpdate</string>
      <key>Topic</key><string>com.apple.mgmt.X</string>
      <key>UDID</key><string>DEV-9</string>
      <key>Token</key><data>AQID</data>
      <key>PushMagic</key><string>MAGIC</string>
      <key>UnlockToken</key><data>c2VjcmV0</data>
    </dict></plist>"#;
    let out = mdmkit(&["checkin", "decode", "-"], Some(token_update));
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["message_type"], "TokenUpdate");
    assert_eq!(json["enrollment_id"], "DEV-9");
    assert_eq!(json["message"]["Token"], "AQID");
    assert!(json["message"]["UnlockToken"]
        .as_str()
        .unwrap()
        .contains("redacted"));
    let out = mdmkit(
        &["checkin", "decode", "-", "--show-secrets"],
        Some(token_update),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["message"]["UnlockToken"], "c2VjcmV0");

    let result = br#"<plist version="1.0"><dict>
      <key>CommandUUID</key><string>C-1</string>
      <key>MessageResult</key><string>Success</string>
      <key>Status</key><string>Acknowledged</string>
      <key>UDID</key><string>DEV-9</string>
    </dict></plist>"#;
    let out = mdmkit(
        &["result", "decode", "-", "--request-type", "DeviceLock"],
        Some(result),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "Acknowledged");
    assert_eq!(json["request_type"], "DeviceLock");
    assert_eq!(json["response"]["MessageResult"], "Success");
}

#[test]
fn decode_refusals_are_one_line_and_nonzero() {
    assert_refused(
        &mdmkit(&["checkin", "decode", "-"], Some(b"garbage")),
        "plist_malformed",
    );
    assert_refused(
        &mdmkit(
            &["checkin", "decode", "-"],
            Some(b"<plist><dict><key>UDID</key><string>D</string></dict></plist>"),
        ),
        "MessageType",
    );
    assert_refused(
        &mdmkit(
            &["result", "decode", "-"],
            Some(b"<plist><dict><key>UDID</key><string>D</string></dict></plist>"),
        ),
        "Status",
    );
    assert_refused(
        &mdmkit(&["result", "decode", "/nonexistent"], None),
        "cannot read",
    );
}
