"""Every area of the Swift component's surface, through UniFFI's Python bindings of the same
cdylib the Swift package loads: async calls (Swift `async throws`) awaited on asyncio,
every error reaching Python with its code, bad inputs refused with nothing stored, secrets
kept out of descriptions."""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import plistlib
import secrets
from typing import Any

import pytest

import mdmkit_swift as mk
from conftest import (
    Pki, code_of, install_push_certificate, new_topic, open_mdm, raises_code, request, run,
)

# --- errors ------------------------------------------------------------------------


def test_error_codes_cover_every_crate_and_carry_code_and_message() -> None:
    codes = mk.error_codes()
    assert codes == sorted(set(codes))
    for code in ("topic_mismatch", "not_found", "unknown_key", "setting_missing",
                 "p12_bad_password", "token_invalid", "invalid_input", "plist_malformed"):
        assert code in codes
    error = raises_code("unknown_request_type", lambda: mk.request_type("NoSuchCommand"))
    assert "NoSuchCommand" in str(error.message)


# --- protocol (pure) ---------------------------------------------------------------


def test_render_command_json_and_plist_routes() -> None:
    xml = mk.render_command('{"RequestType": "DeviceLock", "Message": "Call IT"}', "U1", False)
    assert xml.startswith(b"<?xml")
    assert plistlib.loads(xml)["Command"] == {"RequestType": "DeviceLock", "Message": "Call IT"}
    binary = mk.render_command_plist(
        plistlib.dumps({"RequestType": "DeviceLock", "Message": "Call IT"}), "U1", True
    )
    assert binary.startswith(b"bplist00") and plistlib.loads(binary) == plistlib.loads(xml)
    made = plistlib.loads(mk.render_command('{"RequestType": "DeviceLock"}', None, False))
    assert len(made["CommandUUID"]) >= 32
    decoded = mk.decode_command(xml)
    assert (decoded.command_uuid, decoded.request_type) == ("U1", "DeviceLock")
    assert json.loads(decoded.command_json) == {"Message": "Call IT"}


@pytest.mark.parametrize(
    "command,code",
    [
        ("not json", "invalid_input"),
        ("[1]", "invalid_input"),
        ('{"Message": "x"}', "invalid_input"),
        ('{"RequestType": "NoSuch"}', "unknown_request_type"),
        ('{"RequestType": "DeviceLock", "Bogus": 1}', "unknown_key"),
        ('{"RequestType": "DeviceLock", "Message": 5}', "json_invalid"),
    ],
)
def test_render_command_json_refusals(command: str, code: str) -> None:
    raises_code(code, lambda: mk.render_command(command, None, False))


def test_render_command_plist_refusals() -> None:
    raises_code("plist_malformed", lambda: mk.render_command_plist(b"<plist", None, False))
    raises_code("invalid_input", lambda: mk.render_command_plist(plistlib.dumps([1]), None, False))
    raises_code("wrong_type", lambda: mk.render_command_plist(
        plistlib.dumps({"RequestType": "DeviceLock", "Message": 5}), None, False))


def test_decode_checkin_redacts_secrets() -> None:
    body = plistlib.dumps({
        "MessageType": "TokenUpdate", "UDID": "U1", "Topic": "t", "Token": b"\x01\x02",
        "PushMagic": "magic", "UnlockToken": b"secret-unlock-token",
    })
    message = mk.decode_checkin(body)
    keys = json.loads(message.message_json)
    assert keys["UnlockToken"] == "<redacted: 19 bytes>"
    assert "secret" not in message.message_json and keys["Token"] == "AQI="


def test_decode_result_typed_answer_and_error_chain() -> None:
    body = plistlib.dumps({
        "UDID": "U1", "CommandUUID": "C1", "Status": "Error",
        "ErrorChain": [{"ErrorCode": 12021, "ErrorDomain": "MCMDMErrorDomain"}],
    })
    result = mk.decode_result(body, "DeviceLock")
    assert (result.status, result.command_uuid, result.request_type) == ("Error", "C1", "DeviceLock")
    assert json.loads(result.error_chain_json[0])["ErrorCode"] == 12021
    answer = mk.decode_result(plistlib.dumps({
        "UDID": "U1", "CommandUUID": "C2", "Status": "Acknowledged",
        "QueryResponses": {"OSVersion": "17.4"},
    }), "DeviceInformation")
    assert json.loads(answer.response_json or "{}")["QueryResponses"] == {"OSVersion": "17.4"}


def test_request_types() -> None:
    names = [info.name for info in mk.request_types()]
    assert "DeviceLock" in names and len(names) > 50
    assert any(p.startswith("iOS") for p in mk.request_type("DeviceLock").platforms)


# --- push certificate files ---------------------------------------------------------


def test_inspect_pem_der_pkcs12_with_60_day_flag(pki: Pki) -> None:
    key, csr = pki.key_and_csr()
    topic = new_topic()
    pem = pki.issue(csr, topic)
    info = mk.inspect_push_certificate(pem, None)
    assert info.topic == topic and not info.has_private_key
    assert info.status == mk.CertificateExpiry.VALID and not info.renew_now
    assert isinstance(info.not_after, datetime.datetime) and info.days_remaining > 300
    assert mk.inspect_push_certificate(pki.der(pem), None).serial == info.serial
    p12 = mk.inspect_push_certificate(pki.pkcs12(pem, key, "pw"), "pw")
    assert p12.has_private_key and p12.topic == topic
    soon = mk.inspect_push_certificate(pki.issue(csr, topic, days=30), None)
    assert soon.status == mk.CertificateExpiry.EXPIRING_SOON and soon.renew_now
    old = mk.inspect_push_certificate(
        pki.issue(csr, topic, start="20200101000000Z", end="20210101000000Z"), None)
    assert old.status == mk.CertificateExpiry.EXPIRED and old.days_remaining < 0
    raises_code("p12_bad_password", lambda: mk.inspect_push_certificate(
        pki.pkcs12(pem, key, "pw"), "wrong"))
    raises_code("certificate_unreadable", lambda: mk.inspect_push_certificate(b"junk", None))


# --- profiles ----------------------------------------------------------------------


def test_profile_build_sign_verify(pki: Pki) -> None:
    spec = {"PayloadIdentifier": "com.example.wifi", "PayloadDisplayName": "Wi-Fi",
            "PayloadContent": [{"PayloadType": "com.apple.wifi.managed", "SSID_STR": "Office",
                                "Password": "hunter2-secret", "EncryptionType": "WPA2"}]}
    profile = mk.profile_from_spec(json.dumps(spec))
    assert profile.identifier() == "com.example.wifi" and not profile.is_encrypted()
    assert "hunter2" not in str(profile) and "com.example.wifi" in str(profile)
    assert mk.profile_read(profile.to_xml()).payload_types() == ["com.apple.wifi.managed"]
    signed = profile.sign(pki.ca_pem, pki.ca_key, None)
    verified = mk.verify_profile(signed, pki.ca_pem)
    assert "Test Apple Push CA" in verified.signer_subject
    assert verified.profile.identifier() == "com.example.wifi"
    raises_code("profile_signature", lambda: mk.verify_profile(b"not cms", None))
    raises_code("invalid_input", lambda: mk.profile_from_spec("{"))


def test_profile_encrypt_to_a_device(pki: Pki) -> None:
    spec = {"PayloadIdentifier": "com.example.wifi",
            "PayloadContent": [{"PayloadType": "com.apple.wifi.managed", "SSID_STR": "Office",
                                "Password": "hunter2-secret", "EncryptionType": "WPA2"}]}
    profile = mk.profile_from_spec(json.dumps(spec))
    key, csr = pki.key_and_csr()
    device = pki.issue(csr, None)
    encrypted = profile.encrypt(device)
    assert encrypted.is_encrypted() and encrypted.payload_types() == []
    assert encrypted.identifier() == "com.example.wifi"
    xml = encrypted.to_xml()
    assert b"hunter2" not in xml and b"EncryptedPayloadContent" in xml
    assert mk.profile_read(xml).is_encrypted()
    # DER works as well as PEM; a file that is not a certificate is refused with its code.
    assert profile.encrypt(pki.der(device)).is_encrypted()
    raises_code("certificate_unreadable", lambda: profile.encrypt(b"not a certificate"))


# --- open and settings -------------------------------------------------------------


def test_open_refusals(tmp_path: Any) -> None:
    raises_code("invalid_input", lambda: mk.Mdm.open(f"{tmp_path}/x.db", None, {}))
    error = raises_code("store_key_invalid" if "store_key_invalid" in mk.error_codes()
                        else code_of_open_bad_key(tmp_path),
                        lambda: mk.Mdm.open(f"{tmp_path}/y.db", "not hex", {}))
    assert "not hex" not in str(error)


def code_of_open_bad_key(tmp_path: Any) -> str:
    try:
        run(mk.Mdm.open(f"{tmp_path}/z.db", "not hex", {}))
    except mk.MdmError as error:
        return code_of(error)
    raise AssertionError("a bad key was accepted")


def test_settings_and_overrides(mdm: Any, store: tuple[str, str]) -> None:
    settings = {s.name: s for s in run(mdm.settings())}
    assert settings["organisation"].value == "Example Org"
    assert settings["device_ca_key"].secret and settings["device_ca_key"].value is None
    run(mdm.set_setting("organisation", "Other Org"))
    assert run(mdm.setting("organisation")) == "Other Org"
    raises_code("setting_invalid", lambda: mdm.set_setting("server_url", "ftp://x"))
    raises_code("setting_invalid", lambda: mdm.setting("device_ca_key"))
    raises_code("setting_invalid", lambda: mdm.set_setting("no_such_setting", "x"))
    assert run(mdm.setting("server_url")) == "https://mdm.example.com/mdm"
    assert run(mdm.unset_setting("organisation")) is True
    url, key = store
    overridden = run(mk.Mdm.open(url, key, {"organisation": "Flag Org"}))
    assert run(overridden.setting("organisation")) == "Flag Org"
    assert run(open_mdm(url, key).setting("organisation")) is None


# --- push certificates -------------------------------------------------------------


def test_push_certificate_lifecycle(mdm: Any, pki: Pki) -> None:
    certs = mdm.push_certs()
    assert run(certs.status()) == []
    csr = run(certs.create_request("admin@example.com", "Example"))
    assert csr.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    topic = new_topic()
    report = run(certs.install(pki.issue(csr.encode(), topic), None, "apple@example.com",
                               "first", None))
    assert report.topic == topic and not report.renewed and report.synchronised == []
    [status] = run(certs.status())
    assert (status.topic, status.apple_id, status.note) == (topic, "apple@example.com", "first")
    assert status.days_remaining >= 360 and status.status == mk.CertificateExpiry.VALID
    csr2 = run(certs.create_request("admin@example.com", None))
    renewed = run(certs.install(pki.issue(csr2.encode(), topic, days=40), None,
                                "apple@example.com", None, None))
    assert renewed.renewed
    [soon] = run(certs.status())
    assert soon.renew_now and soon.status == mk.CertificateExpiry.EXPIRING_SOON
    edited = run(certs.edit(topic, None, "renewed in May"))
    assert edited.note == "renewed in May"
    history = run(certs.history(topic))
    assert [h.action for h in history][:3] == ["installed", "renewed", "edited"]
    assert isinstance(history[0].at, datetime.datetime)
    assert run(certs.delete(topic)) == "renewed in May"
    assert run(certs.status()) == []
    assert run(certs.mismatched_enrollments()) == []


def test_vendor_signed_request(mdm: Any, pki: Pki) -> None:
    key, csr = pki.key_and_csr()
    vendor = pki.issue(csr, None)
    certs = mdm.push_certs()
    upload = run(certs.create_signed_request("admin@example.com", None, vendor, key, None,
                                             pki.ca_pem, pki.ca_pem))
    request_plist = plistlib.loads(base64.b64decode(upload))
    assert set(request_plist) == {"PushCertRequestCSR", "PushCertCertificateChain",
                                  "PushCertSignature"}
    raises_code("key_unreadable", lambda: certs.create_signed_request(
        "admin@example.com", None, vendor, b"junk", None, pki.ca_pem, pki.ca_pem))


def test_push_certificate_refusals_store_nothing(mdm: Any, pki: Pki) -> None:
    certs = mdm.push_certs()
    csr = run(certs.create_request("admin@example.com", None)).encode()
    topic = new_topic()
    raises_code("certificate_expired", lambda: certs.install(
        pki.issue(csr, topic, start="20200101000000Z", end="20210101000000Z"), None,
        "a@example.com", None, None))
    _, foreign = pki.key_and_csr()
    raises_code("key_mismatch", lambda: certs.install(pki.issue(foreign, topic), None,
                                                      "a@example.com", None, None))
    raises_code("invalid_input", lambda: certs.install(pki.issue(csr, topic), None, "  ",
                                                          None, None))
    raises_code("certificate_unreadable", lambda: certs.install(b"junk", None, "a@example.com",
                                                                None, None))
    assert run(certs.status()) == []
    run(certs.install(pki.issue(csr, topic), None, "a@example.com", None, None))
    other = run(certs.create_request("admin@example.com", None)).encode()
    raises_code("topic_mismatch", lambda: certs.install(pki.issue(other, new_topic()), None,
                                                        "a@example.com", None, None))
    assert [s.topic for s in run(certs.status())] == [topic]
    raises_code("topic_not_found", lambda: certs.edit(new_topic(), None, "x"))
    raises_code("invalid_input", lambda: mdm.enrollment().initialize(
        None, None, None, None, None, None, pki.ca_pem, None))


def test_store_key_must_match(store: tuple[str, str], pki: Pki) -> None:
    url, key = store
    right = open_mdm(url, key)
    run(right.push_certs().create_request("admin@example.com", None))
    # The store verifies the key when it is opened: nothing is ever written under another.
    raises_code("store_key_mismatch", lambda: mk.Mdm.open(url, secrets.token_hex(32), {}))
    assert run(right.push_certs().status()) == []


# --- devices, the sans-IO endpoint, events -----------------------------------------


def supervise(mdm: Any, enrolled: tuple[str, bytes]) -> None:
    """The device answers DeviceInformation with IsSupervised (what lost mode needs)."""
    device, identity = enrolled
    queued = run(mdm.devices().device_information(device, ["IsSupervised"]))
    idle = plistlib.dumps({"UDID": device, "Status": "Idle"})
    assert run(mdm.handle(request("/mdm/server", idle, identity))).status == 200
    answer = plistlib.dumps({"UDID": device, "CommandUUID": queued.command_uuid,
                             "Status": "Acknowledged",
                             "QueryResponses": {"IsSupervised": True}})
    assert run(mdm.handle(request("/mdm/server", answer, identity))).status == 200


def test_devices_and_every_action(mdm: Any, enrolled: tuple[str, bytes]) -> None:
    device = enrolled[0]
    devices = mdm.devices()
    page = run(devices.list(None, None, 10))
    assert [d.enrollment_id for d in page.devices] == [device] and page.next is None
    got = run(devices.get(device))
    assert (got.serial_number, got.os_version, got.pushable) == ("F00TEST", "17.4", True)
    assert isinstance(got.created_at, datetime.datetime)
    # Lost mode is for supervised devices: refused, nothing queued, until the device says so.
    raises_code("command_not_supported",
                lambda: devices.enable_lost_mode(device, "Lost", None, None))
    assert run(devices.queue(device)) == []
    supervise(mdm, enrolled)

    async def every_action() -> list[Any]:
        return list(await asyncio.gather(
            devices.lock(device, "Call IT", "555-0100", None),
            devices.unlock(device),
            devices.locate(device),
            devices.wipe(device, "123456"),
            devices.retire(device),
            devices.enable_lost_mode(device, "Lost", None, None),
            devices.disable_lost_mode(device),
            devices.device_information(device, ["SerialNumber"]),
            devices.install_profile(device, mk.profile_from_spec(json.dumps({
                "PayloadIdentifier": "com.example.p",
                "PayloadContent": [{"PayloadType": "com.apple.wifi.managed",
                                    "SSID_STR": "x"}]})).to_xml()),
            devices.remove_profile(device, "com.example.p"),
            devices.enqueue_json(device, '{"RequestType": "ProfileList"}'),
        ))

    outcomes = run(every_action())
    assert all(o.command_uuid for o in outcomes)
    # No push certificate: queued, not pushed, and the outcome says why.
    assert not any(o.pushed for o in outcomes) and all(o.push for o in outcomes)
    now = run(devices.check_in_now(device))
    assert now.command_uuid is None and not now.pushed
    queue = run(devices.queue(device))
    assert sorted(q.command_uuid for q in queue) == sorted(o.command_uuid for o in outcomes)
    assert {q.request_type for q in queue} == {
        "DeviceLock", "ClearPasscode", "DeviceLocation", "EraseDevice", "RemoveProfile",
        "EnableLostMode", "DisableLostMode", "DeviceInformation", "InstallProfile",
        "ProfileList",
    }
    assert run(devices.list("nobody", None, 10)).devices == []


def test_device_refusals_store_nothing(mdm: Any, device: str) -> None:
    devices = mdm.devices()
    raises_code("not_found", lambda: devices.get("no-such-device"))
    raises_code("not_found", lambda: devices.lock("no-such-device", None, None, None))
    raises_code("not_found", lambda: devices.command_status("no-such-command"))
    raises_code("not_found", lambda: devices.queue("no-such-device"))
    raises_code("unknown_key", lambda: devices.enqueue_json(
        device, '{"RequestType": "DeviceLock", "Bogus": 1}'))
    raises_code("invalid_input", lambda: devices.enqueue_json(device, "{}"))
    assert run(devices.queue(device)) == []


def test_command_result_through_the_endpoint_and_events(
    mdm: Any, enrolled: tuple[str, bytes]
) -> None:
    device, identity = enrolled
    feed = mdm.events()
    queued = run(mdm.devices().device_information(device, ["SerialNumber"]))
    idle = plistlib.dumps({"UDID": device, "Status": "Idle"})
    refused = run(mdm.handle(request("/mdm/server", idle)))
    assert refused.status == 400 and refused.error
    answer = run(mdm.handle(request("/mdm/server", idle, identity)))
    assert answer.status == 200
    command = plistlib.loads(answer.body)
    assert command["CommandUUID"] == queued.command_uuid
    result = plistlib.dumps({"UDID": device, "CommandUUID": queued.command_uuid,
                             "Status": "Acknowledged",
                             "QueryResponses": {"SerialNumber": "F00TEST"}})
    assert run(mdm.handle(request("/mdm/server", result, identity))).status == 200
    [status] = run(mdm.devices().command_status(queued.command_uuid))
    assert status.status == "Acknowledged"
    assert json.loads(status.result_json)["QueryResponses"]["SerialNumber"] == "F00TEST"
    events = [run(feed.try_next()), run(feed.try_next())]
    assert [e.status for e in events if e] == ["Idle", "Acknowledged"]
    assert events[1].command_uuid == queued.command_uuid and run(feed.missed()) == 0
    assert run(feed.try_next()) is None


def test_sans_io_endpoint_refuses_junk(mdm: Any) -> None:
    answer = run(mdm.handle(request("/mdm/checkin", b"not a plist")))
    assert answer.status == 400 and answer.error and isinstance(answer.body, bytes)


def test_endpoint_needs_the_device_ca(store: tuple[str, str]) -> None:
    url, key = store
    bare = open_mdm(url, key)
    raises_code("setting_missing", lambda: bare.handle(request("/mdm/checkin", b"")))
    raises_code("setting_missing", lambda: bare.devices().lock("x", None, None, None))


# --- enrollment --------------------------------------------------------------------


def test_enrollment_links_and_invitations(mdm: Any, pki: Pki) -> None:
    enrollment = mdm.enrollment()
    hour = datetime.timedelta(hours=1)
    raises_code("setting_missing", lambda: enrollment.create_link("alice", hour))
    install_push_certificate(mdm, pki)
    assert run(enrollment.device_ca_pem()).startswith("-----BEGIN CERTIFICATE-----")
    raises_code("not_found", lambda: enrollment.create_link("nobody", hour))
    report = run(enrollment.invite("alice", "alice@example.com", hour))
    assert not report.sent() and report.invitation().user_id == "alice"
    assert report.registration_link() not in str(report)
    assert report.portal_link() not in str(report) and "<secret>" in str(report)
    link = run(enrollment.create_link("alice", hour))
    assert link.url().startswith("https://mdm.example.com/enroll?token=")
    assert link.url() not in str(link) and "<secret>" in str(link)
    assert link.expires_at() > datetime.datetime.now(datetime.timezone.utc)
    token = link.url().split("token=", 1)[1]
    profile = run(enrollment.enroll(token))
    assert profile.user_id == "alice" and len(profile.profile) > 100
    raises_code("token_invalid", lambda: enrollment.enroll(token))
    raises_code("token_invalid", lambda: enrollment.enroll("bogus"))
    [invitation] = run(enrollment.invitations("alice"))
    assert invitation.email == "alice@example.com" and invitation.accepted_at is None
    assert run(enrollment.revoke_invitation(invitation.id)) is True
    assert run(enrollment.revoke_invitation(invitation.id)) is False
    raises_code("invalid_input", lambda: enrollment.invite("bob", "not an address", hour))
    # Revoked, and the refused invitation of bob stored nothing.
    assert run(enrollment.invitations(None)) == []


def test_init_report_and_refusals(store: tuple[str, str]) -> None:
    url, key = store
    fresh = open_mdm(url, key).enrollment()
    report = run(fresh.initialize("https://mdm.example.com", "com.example.mdm", "Org", None, None,
                            None, None, None))
    assert report.device_ca == "created" and "server_url" in report.written
    again = run(fresh.initialize(None, None, None, None, None, None, None, None))
    assert again.device_ca == "kept"
    raises_code("setting_invalid", lambda: fresh.initialize("ftp://x", None, None, None, None, None,
                                                      None, None))


# --- expiry dashboard --------------------------------------------------------------


def test_expiry_dashboard_with_the_60_day_flag(mdm: Any, pki: Pki) -> None:
    assert run(mdm.expiry_dashboard(None, [])) == []
    csr = run(mdm.push_certs().create_request("admin@example.com", None))
    topic = new_topic()
    run(mdm.push_certs().install(pki.issue(csr.encode(), topic, days=40), None,
                                 "apple@example.com", None, None))
    now = datetime.datetime.now(datetime.timezone.utc)
    tokens = [mk.AdeToken(name="ade-old", not_after=now - datetime.timedelta(days=2)),
              mk.AdeToken(name="ade-fine", not_after=now + datetime.timedelta(days=300))]
    entries = run(mdm.expiry_dashboard(None, tokens))
    assert [e.name for e in entries] == ["ade-old", topic, "ade-fine"]
    old, push, fine = entries
    assert (old.kind, old.status, old.renew_now) == ("dep_server_token", "expired", True)
    assert (push.kind, push.status, push.renew_now) == ("push_certificate", "expiring_soon", True)
    assert push.apple_id == "apple@example.com" and 38 <= push.days_remaining <= 40
    assert (fine.status, fine.renew_now) == ("valid", False)
    raises_code("certificate_unreadable", lambda: mdm.expiry_dashboard(b"junk", []))
