"""The Python bindings against the built module: every area, with the bad inputs a script
meets. Each bad input is a typed exception and stores nothing."""

from __future__ import annotations

import asyncio
import pickle
import plistlib
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import pytest

import mdmkit
from conftest import Pki, checkin, new_topic

# --- errors -------------------------------------------------------------------------


def test_every_rust_code_has_an_exception_class_and_no_class_is_stale() -> None:
    codes = set(mdmkit.error_codes())
    assert codes, "the module lists no codes"
    assert codes == set(mdmkit.ERROR_CLASSES), "tools/gen_errors.py must cover every code"
    for code, cls in mdmkit.ERROR_CLASSES.items():
        assert issubclass(cls, mdmkit.MdmError)
        assert cls is not mdmkit.MdmError
        error = cls(code, "message")
        assert error.code == code and str(error) == "message"


def test_families_let_scripts_catch_broadly() -> None:
    assert issubclass(mdmkit.TopicMismatch, mdmkit.PushCertificateError)
    assert issubclass(mdmkit.P12BadPassword, mdmkit.Pkcs12Error)
    assert issubclass(mdmkit.NotFound, mdmkit.StoreError)
    assert issubclass(mdmkit.MalformedPlist, mdmkit.ProtocolError)
    assert issubclass(mdmkit.EnrollmentDisabled, mdmkit.DeviceRefused)
    error = pickle.loads(pickle.dumps(mdmkit.TopicMismatch("topic_mismatch", "m")))
    assert isinstance(error, mdmkit.TopicMismatch) and error.code == "topic_mismatch"


# --- protocol -----------------------------------------------------------------------


def test_render_command_xml_and_binary() -> None:
    command = {"RequestType": "DeviceLock", "Message": "Call IT", "PhoneNumber": "555"}
    xml = mdmkit.render_command(command, command_uuid="0001")
    decoded = plistlib.loads(xml)
    assert decoded == {"CommandUUID": "0001", "Command": command}
    binary = mdmkit.render_command(command, command_uuid="0001", format="binary")
    assert binary.startswith(b"bplist00") and plistlib.loads(binary) == decoded
    made = plistlib.loads(mdmkit.render_command({"RequestType": "ProfileList"}))
    uuid.UUID(made["CommandUUID"])


def test_render_command_typed_values_cross_as_python_types() -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    body = mdmkit.render_command(
        {"RequestType": "InstallProfile", "Payload": b"\x00profile"}, command_uuid="1"
    )
    assert plistlib.loads(body)["Command"]["Payload"] == b"\x00profile"
    with pytest.raises(ValueError, match="naive"):
        mdmkit.render_command(
            {"RequestType": "ScheduleOSUpdate", "Updates": [{"When": datetime(2030, 1, 1)}]}
        )
    del when


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ({"RequestType": "NoSuchCommand"}, mdmkit.UnknownRequestType),
        ({"RequestType": "DeviceLock", "Bogus": 1}, mdmkit.UnknownKey),
        ({"RequestType": "DeviceLock", "Message": 5}, mdmkit.WrongType),
        ({"Message": "no request type"}, mdmkit.MissingKey),
        ({"RequestType": "InstallProfile"}, mdmkit.MissingKey),
    ],
)
def test_render_command_refuses_what_the_schema_refuses(
    command: dict[str, object], error: type[mdmkit.MdmError]
) -> None:
    with pytest.raises(error) as raised:
        mdmkit.render_command(command)
    assert raised.value.code == error("", "").code or raised.value.code


def test_render_command_bad_python_values() -> None:
    with pytest.raises(TypeError):
        mdmkit.render_command({"RequestType": "DeviceLock", "Message": object()})
    with pytest.raises(ValueError):
        mdmkit.render_command({"RequestType": "DeviceLock"}, format="json")  # type: ignore[arg-type]


def test_decode_checkin_types_and_redacts_repr() -> None:
    unlock = secrets.token_bytes(40)
    magic = str(uuid.uuid4())
    body = checkin(
        {
            "MessageType": "TokenUpdate",
            "UDID": "UDID-1",
            "Topic": "com.apple.mgmt.External.x",
            "Token": b"\x01\x02",
            "PushMagic": magic,
            "UnlockToken": unlock,
        }
    )
    message = mdmkit.decode_checkin(body)
    assert message.message_type == "TokenUpdate"
    assert message.enrollment_id == "UDID-1"
    as_dict = message.to_dict()
    assert as_dict["UnlockToken"] == unlock and as_dict["Token"] == b"\x01\x02"
    text = repr(message)
    assert "TokenUpdate" in text and magic not in text and unlock.hex() not in text
    assert str(unlock) not in text


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not a plist", mdmkit.MalformedPlist),
        (b"<?xml version='1.0'?><plist><dict><key>A</key>", mdmkit.MalformedPlist),
        (plistlib.dumps({"MessageType": "Bogus", "UDID": "1"}), mdmkit.UnknownMessageType),
        (plistlib.dumps({"MessageType": "Authenticate", "Topic": "t"}), mdmkit.MissingEnrollmentId),
        (plistlib.dumps({"UDID": "1"}), mdmkit.MissingKey),
    ],
)
def test_decode_checkin_bad_bodies(body: bytes, error: type[mdmkit.MdmError]) -> None:
    with pytest.raises(error):
        mdmkit.decode_checkin(body)


def test_decode_result_with_response_and_error_chain() -> None:
    body = plistlib.dumps(
        {
            "UDID": "U1",
            "CommandUUID": "C1",
            "Status": "Acknowledged",
            "QueryResponses": {"SerialNumber": "F00", "OSVersion": "17.4"},
        }
    )
    result = mdmkit.decode_result(body, request_type="DeviceInformation")
    assert (result.status, result.command_uuid, result.request_type) == (
        "Acknowledged",
        "C1",
        "DeviceInformation",
    )
    assert result.to_dict()["QueryResponses"]["SerialNumber"] == "F00"
    failed = mdmkit.decode_result(
        plistlib.dumps(
            {
                "UDID": "U1",
                "CommandUUID": "C2",
                "Status": "Error",
                "ErrorChain": [
                    {"ErrorCode": 12, "ErrorDomain": "D", "LocalizedDescription": "nope"}
                ],
            }
        )
    )
    assert failed.error_chain[0]["ErrorCode"] == 12
    with pytest.raises(mdmkit.UnknownStatus):
        mdmkit.decode_result(plistlib.dumps({"UDID": "U", "CommandUUID": "C", "Status": "Meh"}))
    with pytest.raises(mdmkit.MalformedPlist):
        mdmkit.decode_result(b"\x00\x01")


def test_request_types_with_platforms() -> None:
    types = {t.name: t for t in mdmkit.request_types()}
    assert len(types) > 60
    assert "iOS" in types["DeviceLock"].platforms and "macOS" in types["DeviceLock"].platforms
    assert types["DeviceLock"].title


# --- push certificates without a store ----------------------------------------------


def test_inspect_pem_der_and_pkcs12(pki: Pki) -> None:
    key, csr = pki.key_and_csr()
    topic = new_topic()
    pem = pki.issue(csr, topic)
    info = mdmkit.inspect_push_certificate(pem)
    assert info.topic == topic and not info.has_private_key
    assert info.not_after.tzinfo is not None and info.not_after.utcoffset() == timedelta(0)
    assert 360 <= info.days_remaining <= 365 and info.status == "valid"
    assert mdmkit.inspect_push_certificate(pki.der(pem)).serial == info.serial
    p12 = pki.pkcs12(pem, key, "s3cret")
    from_p12 = mdmkit.inspect_push_certificate(p12, password="s3cret")
    assert from_p12.topic == topic and from_p12.has_private_key
    assert "s3cret" not in repr(from_p12)


def test_inspect_bad_inputs(pki: Pki) -> None:
    key, csr = pki.key_and_csr()
    pem = pki.issue(csr, new_topic())
    p12 = pki.pkcs12(pem, key, "right")
    with pytest.raises(mdmkit.P12BadPassword) as wrong:
        mdmkit.inspect_push_certificate(p12, password="hunter2-guess")
    assert "hunter2" not in str(wrong.value)
    with pytest.raises(mdmkit.CertificateUnreadable):
        mdmkit.inspect_push_certificate(b"\x30\x03garbage that is no certificate")
    with pytest.raises(mdmkit.EmptyInput):
        mdmkit.inspect_push_certificate(b"  ")
    with pytest.raises(mdmkit.NoTopic):
        mdmkit.inspect_push_certificate(pki.issue(csr, None))


# --- profiles -----------------------------------------------------------------------

SPEC = {
    "PayloadIdentifier": "com.example.wifi",
    "PayloadDisplayName": "Wi-Fi",
    "PayloadContent": [
        {"PayloadType": "com.apple.wifi.managed", "SSID_STR": "Office", "AutoJoin": True}
    ],
}


def test_profile_build_write_sign_verify_encrypt(pki: Pki) -> None:
    profile = mdmkit.Profile.from_spec(SPEC)
    profile.validate()
    assert profile.payload_types == ["com.apple.wifi.managed"]
    xml = profile.to_xml()
    assert plistlib.loads(xml)["PayloadContent"][0]["SSID_STR"] == "Office"
    assert mdmkit.Profile.read(xml).identifier == "com.example.wifi"
    key, csr = pki.key_and_csr()
    signer = pki.issue(csr, None)
    signed = profile.sign(signer, key)
    verified = mdmkit.verify_profile(signed, trusted=pki.ca_pem)
    assert verified.profile.identifier == "com.example.wifi"
    assert "no topic" in verified.signer_subject
    encrypted = profile.encrypt(signer)
    assert encrypted.is_encrypted and encrypted.payload_types == []
    with pytest.raises(mdmkit.ProfileSignature):
        mdmkit.verify_profile(signed[:-20] + b"\x00" * 20, trusted=pki.ca_pem)


def test_profile_bad_specs() -> None:
    with pytest.raises(mdmkit.UnknownKey):
        mdmkit.Profile.from_spec(
            {**SPEC, "PayloadContent": [{"PayloadType": "com.apple.wifi.managed", "SSID_STRR": "x"}]}
        )
    with pytest.raises(mdmkit.ProfileInvalid):
        mdmkit.Profile.from_spec({"PayloadIdentifier": "com.example.empty", "PayloadContent": []})
    with pytest.raises(mdmkit.MalformedPlist):
        mdmkit.Profile.read(b"<plist")
    with pytest.raises(mdmkit.ProfileSignature):
        mdmkit.verify_profile(b"not cms")


# --- the Mdm handle: push certificates ---------------------------------------------


def test_push_certificate_lifecycle(mdm: mdmkit.Mdm, pki: Pki) -> None:
    assert mdm.push_certs.status() == []
    csr = mdm.push_certs.create_request("admin@example.com")
    assert csr.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    topic = new_topic()
    report = mdm.push_certs.install(pki.issue(csr.encode(), topic), "apple@example.com", note="first")
    assert (report.topic, report.action) == (topic, "installed")
    [status] = mdm.push_certs.status()
    assert status.topic == topic and status.note == "first" and not status.renew_now
    assert status.not_after.tzinfo is not None and status.days_remaining >= 360
    # Renewal: a new CSR, the same topic; the note is kept.
    csr2 = mdm.push_certs.create_request("admin@example.com")
    renewed = mdm.push_certs.install(pki.issue(csr2.encode(), topic, days=400), "apple@example.com")
    assert renewed.action == "renewed"
    edited = mdm.push_certs.edit(topic, note="renewed in May")
    assert edited.note == "renewed in May"
    assert [h.action for h in mdm.push_certs.history(topic)][:2] == ["installed", "renewed"]
    assert mdm.push_certs.delete(topic) == "renewed in May"
    assert mdm.push_certs.status() == []
    assert mdm.push_certs.mismatched_enrollments() == []


def test_push_certificate_install_refusals_store_nothing(mdm: mdmkit.Mdm, pki: Pki) -> None:
    csr = mdm.push_certs.create_request("admin@example.com").encode()
    topic = new_topic()
    with pytest.raises(mdmkit.CertificateExpired):
        mdm.push_certs.install(
            pki.issue(csr, topic, start="20200101000000Z", end="20210101000000Z"), "a@example.com"
        )
    _, foreign_csr = pki.key_and_csr()
    with pytest.raises(mdmkit.KeyMismatch):
        mdm.push_certs.install(pki.issue(foreign_csr, topic), "a@example.com")
    assert mdm.push_certs.status() == []
    mdm.push_certs.install(pki.issue(csr, topic), "a@example.com")
    other = mdm.push_certs.create_request("admin@example.com").encode()
    with pytest.raises(mdmkit.TopicMismatch) as mismatch:
        mdm.push_certs.install(pki.issue(other, new_topic()), "a@example.com")
    assert topic in str(mismatch.value) and "Renew" in str(mismatch.value)
    assert [s.topic for s in mdm.push_certs.status()] == [topic]
    with pytest.raises(mdmkit.P12BadPassword):
        mdm.push_certs.install(
            pki.pkcs12(pki.issue(csr, topic), b"", "x") if False else _p12(pki), "a@example.com", password="bad"
        )
    with pytest.raises(mdmkit.InvalidArgument):
        mdm.push_certs.install(pki.issue(csr, topic), "  ")
    with pytest.raises(mdmkit.TopicNotFound):
        mdm.push_certs.edit(new_topic(), note="x")


def _p12(pki: Pki) -> bytes:
    key, csr = pki.key_and_csr()
    return pki.pkcs12(pki.issue(csr, new_topic()), key, "good")


def test_open_bad_inputs(tmp_path: object) -> None:
    with pytest.raises(mdmkit.InvalidArgument):
        mdmkit.open(f"{tmp_path}/x.db")
    with pytest.raises(mdmkit.MdmError):
        mdmkit.open(f"{tmp_path}/x.db", key="not hex")


def test_store_key_must_match(store: tuple[str, str], pki: Pki) -> None:
    url, key = store
    right = mdmkit.open(url, key=key)
    right.push_certs.create_request("admin@example.com")
    # The store verifies the key when it is opened: nothing is ever written under another.
    with pytest.raises(mdmkit.StoreKeyMismatch) as refused:
        mdmkit.open(url, key=secrets.token_hex(32))
    assert refused.value.code == "store_key_mismatch"
    assert right.push_certs.status() == []


# --- settings ----------------------------------------------------------------------


def test_settings(mdm: mdmkit.Mdm) -> None:
    names = {s.name: s for s in mdm.settings.list()}
    assert names["organisation"].value == "Example Org"
    assert names["device_ca_key"].secret and names["device_ca_key"].value is None
    mdm.settings.set("organisation", "Other")
    assert mdm.settings.get("organisation") == "Other"
    assert mdm.settings.unset("organisation") is True
    with pytest.raises(mdmkit.SettingInvalid):
        mdm.settings.set("no_such_setting", "x")


# --- devices -----------------------------------------------------------------------


def test_devices_list_get_and_actions(mdm: mdmkit.Mdm, device: str) -> None:
    page = mdm.devices.list(limit=10)
    assert [d.enrollment_id for d in page.devices] == [device] and page.next is None
    found = mdm.devices.get(device)
    assert found.enabled and found.created_at.tzinfo is not None
    lock = mdm.devices.lock(device, message="Lost? Call 555")
    assert lock.command_uuid and lock.pushed is False and lock.push
    assert mdm.devices.unlock(device).command_uuid
    assert mdm.devices.device_information(device, ["SerialNumber"]).command_uuid
    with pytest.raises(mdmkit.CommandNotSupported, match="supervised"):
        mdm.devices.enable_lost_mode(device, message="Lost")
    with pytest.raises(mdmkit.DeviceRefused):
        mdm.devices.disable_lost_mode(device)
    assert mdm.devices.remove_profile(device, "com.example.wifi").command_uuid
    profile = mdmkit.Profile.from_spec(SPEC).to_xml()
    assert mdm.devices.install_profile(device, profile).command_uuid
    typed = mdm.devices.enqueue(device, {"RequestType": "ProfileList"})
    queue = mdm.devices.queue(device)
    assert queue[0].request_type == "DeviceLock" and queue[-1].command_uuid == typed.command_uuid
    [status] = mdm.devices.command_status(lock.command_uuid or "")
    assert status.status is None and status.enrollment_id == device
    assert mdm.devices.check_in_now(device).command_uuid is None


def test_command_result_through_the_endpoint(
    mdm: mdmkit.Mdm, enrolled: tuple[str, bytes]
) -> None:
    device, identity = enrolled
    queued = mdm.devices.device_information(device, ["SerialNumber"])
    idle = plistlib.dumps({"UDID": device, "Status": "Idle"})
    refused = mdm.handle("PUT", "/mdm/server", [], idle)
    assert refused.status == 400 and refused.error, "an unauthenticated device is refused"
    answer = mdm.handle("PUT", "/mdm/server", [], idle, identity)
    assert answer.status == 200
    command = plistlib.loads(answer.body)
    assert command["CommandUUID"] == queued.command_uuid
    assert command["Command"]["RequestType"] == "DeviceInformation"
    result = plistlib.dumps(
        {
            "UDID": device,
            "CommandUUID": queued.command_uuid,
            "Status": "Acknowledged",
            "QueryResponses": {"SerialNumber": "F00TEST"},
        }
    )
    assert mdm.handle("PUT", "/mdm/server", [], result, identity).status == 200
    [status] = mdm.devices.command_status(queued.command_uuid or "")
    assert status.status == "Acknowledged"
    assert status.result is not None and status.result["QueryResponses"]["SerialNumber"] == "F00TEST"


def test_devices_bad_inputs(mdm: mdmkit.Mdm, device: str) -> None:
    with pytest.raises(mdmkit.NotFound):
        mdm.devices.get("no-such-device")
    with pytest.raises(mdmkit.NotFound):
        mdm.devices.lock("no-such-device")
    with pytest.raises(mdmkit.NotFound):
        mdm.devices.command_status("no-such-command")
    with pytest.raises(mdmkit.UnknownKey):
        mdm.devices.enqueue(device, {"RequestType": "DeviceLock", "Bogus": 1})
    with pytest.raises(mdmkit.MdmError):
        mdm.devices.enqueue(device, {"Message": "no RequestType"})
    assert len(mdm.devices.queue(device)) == 0


def test_async_device_actions(mdm: mdmkit.Mdm, device: str) -> None:
    async def run() -> list[mdmkit.ActionOutcome]:
        d = mdm.devices_async
        return list(
            await asyncio.gather(
                d.lock(device, message="hi"),
                d.check_in_now(device),
                d.enqueue(device, {"RequestType": "DeviceInformation", "Queries": ["OSVersion"]}),
            )
        )

    lock, push, info = asyncio.run(run())
    assert lock.command_uuid and push.command_uuid is None and info.command_uuid

    async def refused() -> None:
        await mdm.devices_async.lock("no-such-device")

    with pytest.raises(mdmkit.NotFound):
        asyncio.run(refused())


def test_many_awaitables_in_flight_settle_each_its_own(mdm: mdmkit.Mdm, device: str) -> None:
    """Results come back in batches (one GIL acquisition per batch): each awaitable still
    gets its own result or typed exception, a cancelled one stays cancelled without
    disturbing the others, and a second event loop gets its own."""

    async def run() -> list[object]:
        d = mdm.devices_async
        calls = [
            d.check_in_now(device if i % 3 else f"no-such-device-{i}") for i in range(300)
        ]
        cancelled = asyncio.ensure_future(d.check_in_now(device))
        cancelled.cancel()
        results: list[object] = list(await asyncio.gather(*calls, return_exceptions=True))
        assert cancelled.cancelled()
        # A call after the batch (the completer thread is idle again) still settles.
        results.append(await d.check_in_now(device))
        return results

    for _ in range(2):  # a new event loop each time
        results = asyncio.run(run())
        assert len(results) == 301
        for i, result in enumerate(results[:300]):
            if i % 3:
                assert isinstance(result, mdmkit.ActionOutcome) and result.command_uuid is None
            else:
                assert isinstance(result, mdmkit.NotFound), result
        assert isinstance(results[300], mdmkit.ActionOutcome)

    with pytest.raises(RuntimeError):
        mdm.devices_async.check_in_now(device)  # no running event loop


def test_sans_io_endpoint(mdm: mdmkit.Mdm) -> None:
    answer = mdm.handle("PUT", "/mdm/checkin", [], b"not a plist")
    assert answer.status == 400 and isinstance(answer.body, bytes) and answer.error

    async def run() -> mdmkit.MdmResponse:
        return await mdm.handle_async("PUT", "/mdm/checkin", [], b"")

    assert asyncio.run(run()).status >= 400


# --- enrollment --------------------------------------------------------------------


def test_enrollment_links_and_invitations(mdm: mdmkit.Mdm, pki: Pki) -> None:
    with pytest.raises(mdmkit.SettingMissing):
        mdm.enrollment.create_link("alice")
    csr = mdm.push_certs.create_request("admin@example.com").encode()
    mdm.push_certs.install(pki.issue(csr, new_topic()), "apple@example.com")
    assert mdm.enrollment.device_ca_pem().startswith("-----BEGIN CERTIFICATE-----")
    with pytest.raises(mdmkit.NotFound):
        mdm.enrollment.create_link("nobody")
    report = mdm.enrollment.invite("alice", "alice@example.com")
    assert not report.sent and report.registration_link not in repr(report)
    link = mdm.enrollment.create_link("alice", ttl_seconds=3600)
    assert link.url.startswith("https://mdm.example.com/enroll?token=")
    assert link.url not in repr(link) and "<redacted>" in repr(link)
    token = link.url.split("token=", 1)[1]
    profile = mdm.enrollment.enroll(token)
    assert profile.user_id == "alice" and isinstance(profile.profile, bytes)
    with pytest.raises(mdmkit.TokenInvalid):
        mdm.enrollment.enroll(token)
    [invitation] = mdm.enrollment.invitations("alice")
    assert invitation.email == "alice@example.com"
    assert mdm.enrollment.revoke_invitation(invitation.id) is True
    with pytest.raises(mdmkit.TokenInvalid):
        mdm.enrollment.enroll("bogus-token")
