"""Administrators, portal sessions and users' certificates through UniFFI's Python bindings
of the component (the FFI surface the Swift package calls): the flows, and the bad inputs
(wrong password, another user's device, a bad PKCS#12 file) each refused with its code and
nothing stored; the session token never in `str()` (Swift's `description`)."""

from __future__ import annotations

import datetime
from typing import Any

import mdmkit_swift as mk  # type: ignore[import-not-found]

from conftest import Pki, install_push_certificate, raises_code, run

HOUR = datetime.timedelta(hours=1)


def invite(mdm: Any, user: str, password: str) -> Any:
    report = run(mdm.enrollment().invite(user, f"{user}@example.com", HOUR))
    token = report.portal_link().split("token=", 1)[1]
    signed_in = run(mdm.portal().accept_invitation(token, password))
    assert signed_in.user_id() == user
    assert signed_in.token() not in str(signed_in) and "<secret>" in str(signed_in)
    raises_code("token_invalid", lambda: mdm.portal().accept_invitation(token, password))
    return signed_in


def test_admins(mdm: Any) -> None:
    admins = mdm.admins()
    admin = run(admins.add("root@example.com", "correct horse", "Root"))
    assert admin.enabled and admin.name == "Root"
    assert [a.id for a in run(admins.list())] == [admin.id]
    raises_code("store_conflict", lambda: admins.add("root@example.com", "x", None))
    raises_code("sign_in_failed", lambda: admins.sign_in("root@example.com", "wrong"))
    session = run(admins.sign_in("root@example.com", "correct horse"))
    assert run(admins.session(session.token())).admin_id == admin.id
    run(admins.set_enabled(admin.id, False))
    raises_code("not_signed_in", lambda: admins.session(session.token()))
    run(admins.set_enabled(admin.id, True))
    run(admins.set_password(admin.id, "new horse"))
    again = run(admins.sign_in("root@example.com", "new horse"))
    run(admins.sign_out(again.token()))
    raises_code("not_signed_in", lambda: admins.session(again.token()))
    raises_code("not_found", lambda: admins.get("no-such-admin"))
    assert run(admins.delete(admin.id)) and not run(admins.delete(admin.id))


def test_portal_session(mdm: Any, pki: Pki, device: str) -> None:
    install_push_certificate(mdm, pki)
    first = invite(mdm, "alice", "alice-pw-1")
    session = run(mdm.portal().session(first.token()))
    assert session.user_id() == "alice"
    assert run(session.user()).email == "alice@example.com"
    assert run(session.update_account("Alice A.", None)).name == "Alice A."
    raises_code("sign_in_failed", lambda: mdm.portal().sign_in("alice@example.com", "nope"))
    raises_code("sign_in_failed", lambda: session.change_password("nope", "alice-pw-2"))
    renewed = run(session.change_password("alice-pw-1", "alice-pw-2"))
    raises_code("not_signed_in", lambda: mdm.portal().session(first.token()))
    session = run(mdm.portal().session(renewed.token()))
    # The enrolled device is not Alice's: answered like a missing one, nothing queued.
    assert run(session.devices()) == []
    raises_code("device_not_found", lambda: session.device(device))
    raises_code("device_not_found", lambda: session.lock(device, "Found?", None))
    raises_code("device_not_found", lambda: session.wipe(device))
    raises_code("device_not_found", lambda: session.location(device))
    raises_code("device_not_found", lambda: session.command_state(device, "NO-SUCH"))
    assert run(mdm.devices().queue(device)) == []
    link = run(session.registration_link())
    assert link.user_id() == "alice" and link.url() not in str(link)
    assert "svg" in mk.registration_qr_svg(link.url())
    raises_code("invalid_input", lambda: mk.registration_qr_svg(""))
    run(mdm.portal().sign_out(renewed.token()))
    raises_code("not_signed_in", lambda: mdm.portal().session(renewed.token()))


def test_user_certificates(mdm: Any, pki: Pki) -> None:
    install_push_certificate(mdm, pki)
    admin = mdm.user_certs()
    kind = run(admin.add_kind("Signing", "signing"))
    assert (kind.id, kind.usage) == ("signing", "signing")
    raises_code("kind_exists", lambda: admin.add_kind("Signing", "signing"))
    key, csr = pki.key_and_csr()
    p12 = pki.pkcs12(pki.issue(csr, None), key, "p12-pw")
    cert = run(admin.add("carol", "signing", p12, "p12-pw", None))
    assert cert.owner == "carol" and cert.has_private_key
    assert run(admin.edit(cert.id, "Renamed")).name == "Renamed"
    assert not run(admin.clear_private_key(cert.id)).has_private_key
    assert run(admin.delete(cert.id))
    raises_code("unknown_certificate", lambda: admin.get(cert.id))
    raises_code("p12_bad_password", lambda: admin.add("carol", "signing", p12, "wrong", None))
    raises_code("p12_not_pkcs12", lambda: admin.add("carol", "signing", b"junk", "p12-pw", None))
    raises_code("unknown_kind", lambda: admin.add("carol", "nope", p12, "p12-pw", None))
    assert run(admin.list("carol")) == []

    dave = run(mdm.portal().session(invite(mdm, "dave", "dave-pw").token())).certificates()
    erin = run(mdm.portal().session(invite(mdm, "erin", "erin-pw").token())).certificates()
    own = run(dave.add("signing", p12, "p12-pw", "Dave's"))
    assert [c.id for c in run(dave.list())] == [own.id]
    raises_code("p12_bad_password", lambda: dave.add("signing", p12, "wrong", None))
    raises_code("unknown_certificate", lambda: erin.edit(own.id, "Mine"))
    assert not run(erin.delete(own.id)) and run(erin.list()) == []
    assert run(dave.delete(own.id)) and run(dave.list()) == []


PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"


def test_branding(mdm: Any, pki: Pki) -> None:
    install_push_certificate(mdm, pki)
    assert run(mdm.branding()) is None and run(mdm.portal().branding()) is None
    raises_code("invalid_input", lambda: mdm.set_branding("Example Org", "#12345", None, None))
    raises_code("invalid_input", lambda: mdm.set_branding("Example Org", None, None, b"%PDF-1.7"))
    raises_code(
        "invalid_input",
        lambda: mdm.set_branding("Example Org", None, None, PNG + b"\0" * (512 * 1024)),
    )
    assert run(mdm.branding()) is None, "refused branding stores nothing"

    first = run(mdm.set_branding("Example Org", "#a1b2c3", None, PNG))
    assert (first.name, first.primary_colour, first.accent_colour) == (
        "Example Org", "#A1B2C3", None,
    )
    assert first.logo == PNG and first.logo_content_type == "image/png"
    assert isinstance(first.updated_at, datetime.datetime)

    # Replaced, not merged: the logo set before is gone.
    second = run(mdm.set_branding("Example Org 2", None, "#00ff00", None))
    assert second.logo is None and second.logo_content_type is None
    assert second.accent_colour == "#00FF00" and second.updated_at >= first.updated_at
    assert run(mdm.branding()) == second and run(mdm.portal().branding()) == second
    signed_in = invite(mdm, "bob", "bob-pw-1")
    session = run(mdm.portal().session(signed_in.token()))
    seen = run(session.branding())
    assert seen is not None and seen.name == "Example Org 2"
