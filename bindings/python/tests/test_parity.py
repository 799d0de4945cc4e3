"""Runs every case of the shared binding parity list (tests/bindings/cases.json), the same
list the Node and Swift bindings run."""

from __future__ import annotations

import base64
import json
import plistlib
from datetime import datetime
from typing import Any, Callable, Dict

import pytest

import mdmkit
from conftest import REPO

CASES_FILE = REPO / "tests" / "bindings" / "cases.json"
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text())["cases"]


def from_json(value: Any) -> Any:
    """JSON with {"$data": b64} and {"$date": rfc3339} markers -> Python values."""
    if isinstance(value, dict):
        if set(value) == {"$data"}:
            return base64.b64decode(value["$data"])
        if set(value) == {"$date"}:
            return datetime.fromisoformat(value["$date"].replace("Z", "+00:00"))
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def body(inp: Dict[str, Any]) -> bytes:
    if "body_base64" in inp:
        return base64.b64decode(inp["body_base64"])
    return str(inp["body"]).encode()


def subset(expected: Dict[str, Any], actual: Dict[str, Any]) -> None:
    for key, value in expected.items():
        assert actual.get(key) == value, f"{key}: expected {value!r}, got {actual.get(key)!r}"


def render_command(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    out = mdmkit.render_command(
        from_json(inp["command"]), command_uuid=inp.get("command_uuid"), format=inp["format"]
    )
    assert plistlib.loads(out) == from_json(exp["plist"])
    if "starts_with" in exp:
        assert out.startswith(exp["starts_with"].encode())


def decode_checkin(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    message = mdmkit.decode_checkin(body(inp))
    assert message.message_type == exp["message_type"]
    assert message.enrollment_id == exp["enrollment_id"]
    subset(from_json(exp.get("keys", {})), message.to_dict())


def decode_result(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    result = mdmkit.decode_result(body(inp), request_type=inp.get("request_type"))
    for field in ("status", "command_uuid", "request_type", "enrollment_id"):
        if field in exp:
            assert getattr(result, field) == exp[field], field
    subset(from_json(exp.get("keys", {})), result.to_dict())
    if "error_chain_codes" in exp:
        assert [e["ErrorCode"] for e in result.error_chain] == exp["error_chain_codes"]


def request_type(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    platforms = mdmkit.request_type(inp["name"]).platforms
    assert set(exp.get("platforms_include", [])) <= set(platforms)
    assert not set(exp.get("platforms_exclude", [])) & set(platforms)


def inspect_push_certificate(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    info = mdmkit.inspect_push_certificate(
        base64.b64decode(inp["data_base64"]), password=inp.get("password")
    )
    subset(exp, info.to_dict())


def profile_from_spec(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    profile = mdmkit.Profile.from_spec(from_json(inp["spec"]))
    assert profile.identifier == exp["identifier"]
    assert profile.payload_types == exp["payload_types"]


def profile_read(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    assert mdmkit.Profile.read(body(inp)).identifier == exp["identifier"]


def verify_profile(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    subset(exp, {"signer_subject": mdmkit.verify_profile(body(inp)).signer_subject})


def registration_qr_svg(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    svg = mdmkit.registration_qr_svg(inp["url"])
    assert exp["contains"] in svg and svg.endswith(exp["ends_with"])


def set_branding(inp: Dict[str, Any], exp: Dict[str, Any]) -> None:
    mdm = mdmkit.open("memory:")
    logo = base64.b64decode(inp["logo_base64"]) if "logo_base64" in inp else None
    try:
        stored = mdm.set_branding(
            inp["name"],
            primary_colour=inp.get("primary_colour"),
            accent_colour=inp.get("accent_colour"),
            logo=logo,
        )
    except mdmkit.MdmError:
        assert mdm.branding() is None, "nothing stored"
        raise
    for read in (mdm.branding(), mdm.portal.branding()):
        assert read is not None
        assert read.to_dict() == stored.to_dict()
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
        with pytest.raises(mdmkit.MdmError) as raised:
            run(case["input"], {})
        assert raised.value.code == case["error"]
        assert type(raised.value) is mdmkit.ERROR_CLASSES[case["error"]]
    else:
        run(case["input"], case["expected"])
