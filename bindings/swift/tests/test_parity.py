"""Runs every case of the shared binding parity list (tests/bindings/cases.json) through
the Swift component's FFI, as UniFFI's Python bindings of the same cdylib see it: the same
list the Python (pyo3) and Node bindings run, so they cannot drift apart."""

from __future__ import annotations

import base64
import json
import plistlib
from datetime import datetime
from typing import Any, Callable, Dict

import pytest

import mdmkit_swift as mk
from conftest import REPO, code_of, open_mdm, run

CASES_FILE = REPO / "tests" / "bindings" / "cases.json"
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text())["cases"]


def to_plist(value: Any) -> Any:
    """Case JSON ({"$data": b64}, {"$date": rfc3339} markers) -> plist values (the Swift
    dictionary route: what PropertyListSerialization makes of a [String: Any])."""
    if isinstance(value, dict):
        if set(value) == {"$data"}:
            return base64.b64decode(value["$data"])
        if set(value) == {"$date"}:
            return datetime.fromisoformat(value["$date"].replace("Z", "+00:00"))
        return {k: to_plist(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plist(v) for v in value]
    return value


def to_json(value: Any) -> Any:
    """Case JSON -> the JSON the component speaks (data as base64, dates as RFC 3339)."""
    if isinstance(value, dict):
        if set(value) == {"$data"}:
            return value["$data"]
        if set(value) == {"$date"}:
            return value["$date"]
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def body(inp: Dict[str, Any]) -> bytes:
    if "body_base64" in inp:
        return base64.b64decode(inp["body_base64"])
    return str(inp["body"]).encode()


def subset(expected: Dict[str, Any], actual: Dict[str, Any]) -> None:
    for key, value in expected.items():
        assert actual.get(key) == value, f"{key}: expected {value!r}, got {actual.get(key)!r}"


def render_command(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    binary = inp["format"] == "binary"
    command = plistlib.dumps(to_plist(inp["command"]))
    out = mk.render_command_plist(command, inp.get("command_uuid"), binary)
    assert plistlib.loads(out) == to_plist(exp["plist"])
    if "starts_with" in exp:
        assert out.startswith(exp["starts_with"].encode())
    # The JSON route renders the same plist.
    as_json = mk.render_command(json.dumps(to_json(inp["command"])), inp.get("command_uuid"), binary)
    assert plistlib.loads(as_json) == plistlib.loads(out)


def decode_checkin(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    message = mk.decode_checkin(body(inp))
    assert message.message_type == exp["message_type"]
    assert message.enrollment_id == exp["enrollment_id"]
    subset(to_json(exp.get("keys", {})), json.loads(message.message_json))


def decode_result(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    result = mk.decode_result(body(inp), inp.get("request_type"))
    for field in ("status", "command_uuid", "request_type", "enrollment_id"):
        if field in exp:
            assert getattr(result, field) == exp[field], field
    response = json.loads(result.response_json) if result.response_json else {}
    subset(to_json(exp.get("keys", {})), response)
    if "error_chain_codes" in exp:
        codes = [json.loads(item)["ErrorCode"] for item in result.error_chain_json]
        assert codes == exp["error_chain_codes"]


def request_type(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    # Platforms read "iOS 4.0 (supervised)": the platform is the first word.
    platforms = {p.split(" ", 1)[0] for p in mk.request_type(inp["name"]).platforms}
    assert set(exp.get("platforms_include", [])) <= platforms
    assert not set(exp.get("platforms_exclude", [])) & platforms


def inspect_push_certificate(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    info = mk.inspect_push_certificate(base64.b64decode(inp["data_base64"]), inp.get("password"))
    subset(exp, {name: getattr(info, name) for name in exp})


def profile_from_spec(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    profile = mk.profile_from_spec(json.dumps(to_json(inp["spec"])))
    assert profile.identifier() == exp["identifier"]
    assert profile.payload_types() == exp["payload_types"]


def profile_read(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    assert mk.profile_read(body(inp)).identifier() == exp["identifier"]


def verify_profile(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    subset(exp, {"signer_subject": mk.verify_profile(body(inp), None).signer_subject})


def registration_qr_svg(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    svg = mk.registration_qr_svg(inp["url"])
    assert exp["contains"] in svg and svg.endswith(exp["ends_with"])


def set_branding(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    mdm = open_mdm("memory:", None)
    logo = base64.b64decode(inp["logo_base64"]) if "logo_base64" in inp else None
    try:
        stored = run(
            mdm.set_branding(
                inp["name"], inp.get("primary_colour"), inp.get("accent_colour"), logo
            )
        )
    except mk.MdmError:
        assert run(mdm.branding()) is None, "nothing stored"
        raise
    assert run(mdm.branding()) == stored and run(mdm.portal().branding()) == stored
    assert stored.logo == logo
    subset(
        exp,
        {
            "name": stored.name,
            "primary_colour": stored.primary_colour,
            "accent_colour": stored.accent_colour,
            "logo_content_type": stored.logo_content_type,
            "logo_bytes": None if stored.logo is None else len(stored.logo),
        },
    )


OPERATIONS: Dict[str, Callable[[Dict[str, Any], Dict[str, Any]], None]] = {
    "render_command": render_command,
    "decode_checkin": decode_checkin,
    "decode_result": decode_result,
    "request_type": request_type,
    "inspect_push_certificate": inspect_push_certificate,
    "profile_from_spec": profile_from_spec,
    "profile_read": profile_read,
    "verify_profile": verify_profile,
    "registration_qr_svg": registration_qr_svg,
    "set_branding": set_branding,
}


def test_every_operation_of_the_list_is_run_here() -> None:
    assert {case["operation"] for case in CASES} <= set(OPERATIONS)
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case: Dict[str, Any]) -> None:
    run = OPERATIONS[case["operation"]]
    if "error" in case:
        assert case["error"] in mk.error_codes()
        with pytest.raises(mk.MdmError) as raised:
            run(case["input"], {})
        assert code_of(raised.value) == case["error"], raised.value
    else:
        run(case["input"], case["expected"])
