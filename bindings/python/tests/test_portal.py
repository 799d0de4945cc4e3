"""Administrators, the self-service portal (sessions and what a signed-in user may do) and
users' certificates, through the binding: the flows and the bad inputs a script meets
(wrong password, another user's device, a bad PKCS#12 file), each its typed exception with
nothing stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

import mdmkit

from conftest import Pki, new_topic


@pytest.fixture()
def deployment(mdm: mdmkit.Mdm, pki: Pki) -> mdmkit.Mdm:
    """A deployment with a push certificate (enrollment links need its topic)."""
    csr = mdm.push_certs.create_request("admin@example.com").encode()
    mdm.push_certs.install(pki.issue(csr, new_topic()), "apple@example.com")
    return mdm


def invite(mdm: mdmkit.Mdm, user: str, password: str) -> mdmkit.SignedIn:
    """A portal user made the way a deployment makes one: invited, then accepted."""
    report = mdm.enrollment.invite(user, f"{user}@example.com")
    token = report.portal_link.split("token=", 1)[1]
    signed_in = mdm.portal.accept_invitation(token, password)
    assert signed_in.user_id == user
    with pytest.raises(mdmkit.TokenInvalid):
        mdm.portal.accept_invitation(token, password)
    return signed_in


def test_admins_accounts_and_sessions(mdm: mdmkit.Mdm) -> None:
    admins = mdm.admins
    admin = admins.add("root@example.com", "correct horse", name="Root")
    assert admin.email == "root@example.com" and admin.enabled and admin.name == "Root"
    assert [a.id for a in admins.list()] == [admin.id]
    assert admins.get(admin.id).email == admin.email
    with pytest.raises(mdmkit.StoreConflict):
        admins.add("root@example.com", "another")
    with pytest.raises(mdmkit.InvalidInput):
        admins.add("not an address", "pw")
    with pytest.raises(mdmkit.SignInFailed):
        admins.sign_in("root@example.com", "wrong")
    signed_in = admins.sign_in("root@example.com", "correct horse")
    assert "correct horse" not in repr(signed_in) and signed_in.token not in repr(signed_in)
    assert admins.session(signed_in.token).admin_id == admin.id
    admins.set_enabled(admin.id, False)
    with pytest.raises(mdmkit.NotSignedIn):
        admins.session(signed_in.token)
    with pytest.raises(mdmkit.SignInFailed):
        admins.sign_in("root@example.com", "correct horse")
    admins.set_enabled(admin.id, True)
    admins.set_password(admin.id, "new horse")
    session = admins.sign_in("root@example.com", "new horse")
    admins.sign_out(session.token)
    with pytest.raises(mdmkit.NotSignedIn):
        admins.session(session.token)
    with pytest.raises(mdmkit.NotFound):
        admins.get("no-such-admin")
    assert admins.delete(admin.id) and not admins.delete(admin.id)


def test_portal_sign_in_account_and_password(deployment: mdmkit.Mdm) -> None:
    mdm = deployment
    first = invite(mdm, "alice", "alice-pw-1")
    session = mdm.portal.session(first.token)
    assert session.user_id == "alice" and "alice-pw" not in repr(session)
    assert session.user().email == "alice@example.com"
    assert session.update_account(name="Alice A.").name == "Alice A."
    with pytest.raises(mdmkit.SignInFailed):
        mdm.portal.sign_in("alice@example.com", "wrong password")
    with pytest.raises(mdmkit.SignInFailed):
        session.change_password("wrong password", "alice-pw-2")
    renewed = session.change_password("alice-pw-1", "alice-pw-2")
    with pytest.raises(mdmkit.NotSignedIn):
        mdm.portal.session(first.token).user()
    again = mdm.portal.sign_in("alice@example.com", "alice-pw-2")
    assert again.user_id == "alice"
    mdm.portal.sign_out(renewed.token)
    with pytest.raises(mdmkit.NotSignedIn):
        mdm.portal.session(renewed.token)
    with pytest.raises(mdmkit.NotSignedIn):
        mdm.portal.session("not-a-session")
    link = mdm.portal.session(again.token).registration_link()
    assert link.user_id == "alice" and link.url not in repr(link)
    svg = mdmkit.registration_qr_svg(link.url)
    assert svg.lstrip().startswith("<") and "svg" in svg
    with pytest.raises(mdmkit.InvalidInput):
        mdmkit.registration_qr_svg("")


def test_portal_devices_of_another_user_are_not_found(
    deployment: mdmkit.Mdm, device: str
) -> None:
    mdm = deployment
    session = mdm.portal.session(invite(mdm, "bob", "bob-pw").token)
    # The enrolled device is not Bob's: every operation answers as for a missing device,
    # and nothing is queued.
    assert session.devices() == []
    for call in (
        lambda: session.device(device),
        lambda: session.lock(device, message="Found?"),
        lambda: session.unlock(device),
        lambda: session.locate(device),
        lambda: session.location(device),
        lambda: session.wipe(device),
        lambda: session.retire(device),
        lambda: session.check_in(device),
        lambda: session.command_state(device, "NO-SUCH-COMMAND"),
        lambda: session.device("NO-SUCH-DEVICE"),
    ):
        with pytest.raises(mdmkit.DeviceNotFound):
            call()
    assert mdm.devices.queue(device) == []


def user_pkcs12(pki: Pki, password: str) -> bytes:
    key, csr = pki.key_and_csr()
    return pki.pkcs12(pki.issue(csr, None), key, password)


def test_user_certificates_admin_and_own(deployment: mdmkit.Mdm, pki: Pki) -> None:
    mdm = deployment
    admin = mdm.user_certs
    signing = admin.add_kind("Signing", "signing")
    assert (signing.id, signing.usage) == ("signing", "signing")
    with pytest.raises(mdmkit.InvalidInput):
        admin.add_kind("Other", "sideways")
    assert [k.id for k in admin.kinds()] == ["signing"]
    p12 = user_pkcs12(pki, "p12-pw")

    # The administrator uploads for a user.
    cert = admin.add("carol", "signing", p12, "p12-pw", name="Carol's signing")
    assert cert.owner == "carol" and cert.has_private_key and cert.kind_name == "Signing"
    assert [c.id for c in admin.list("carol")] == [cert.id]
    assert admin.get(cert.id).serial == cert.serial
    assert admin.edit(cert.id, "Renamed").name == "Renamed"
    cleared = admin.clear_private_key(cert.id)
    assert not cleared.has_private_key
    assert admin.delete(cert.id) and not admin.delete(cert.id)
    with pytest.raises(mdmkit.UnknownCertificate):
        admin.get(cert.id)

    # Bad files: each its class, nothing stored.
    with pytest.raises(mdmkit.P12BadPassword):
        admin.add("carol", "signing", p12, "wrong")
    with pytest.raises(mdmkit.NotPkcs12):
        admin.add("carol", "signing", b"not a PKCS#12 file", "p12-pw")
    with pytest.raises(mdmkit.UnknownKind):
        admin.add("carol", "no-such-kind", p12, "p12-pw")
    with pytest.raises(mdmkit.KindExists):
        admin.add_kind("Signing", "signing")
    assert admin.list("carol") == []

    # The signed-in user's own certificates (the portal's certificates tab).
    dave = mdm.portal.session(invite(mdm, "dave", "dave-pw").token).certificates
    erin = mdm.portal.session(invite(mdm, "erin", "erin-pw").token).certificates
    assert [k.id for k in dave.kinds()] == ["signing"]
    own = dave.add("Signing", p12, "p12-pw")
    assert own.owner == "dave" and [c.id for c in dave.list()] == [own.id]
    with pytest.raises(mdmkit.P12BadPassword):
        dave.add("signing", p12, "wrong")
    with pytest.raises(mdmkit.NotPkcs12):
        dave.add("signing", b"\x30\x03\x02\x01\x03", "p12-pw")
    # Another user's certificate is unknown to Erin, and stays Dave's.
    with pytest.raises(mdmkit.UnknownCertificate):
        erin.edit(own.id, "Mine now")
    with pytest.raises(mdmkit.UnknownCertificate):
        erin.clear_private_key(own.id)
    assert not erin.delete(own.id) and erin.list() == []
    assert dave.edit(own.id, "Dave's").name == "Dave's"
    assert not dave.clear_private_key(own.id).has_private_key
    assert dave.delete(own.id) and dave.list() == []
    assert "p12-pw" not in repr(own)


def test_enqueue_many_queues_once_and_lists_refusals(mdm: mdmkit.Mdm, device: str) -> None:
    bulk = mdm.devices.enqueue_many(
        [device, "NO-SUCH-DEVICE"], {"RequestType": "DeviceInformation", "Queries": ["OSVersion"]}
    )
    assert bulk.queued == [device]
    assert [(r[0], r[1]) for r in bulk.refused] == [("NO-SUCH-DEVICE", "not_found")]
    assert [p[0] for p in bulk.pushes] == [device]
    assert [c.command_uuid for c in mdm.devices.queue(device)] == [bulk.command_uuid]
    with pytest.raises(mdmkit.UnknownKey):
        mdm.devices.enqueue_many([device], {"RequestType": "DeviceLock", "Bogus": 1})
    with pytest.raises(TypeError):
        mdm.devices.enqueue_many(device, {"RequestType": "DeviceLock"})
    assert len(mdm.devices.queue(device)) == 1


PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"


def test_branding_set_by_administrators_read_by_the_portal(
    deployment: mdmkit.Mdm, store: tuple[str, str]
) -> None:
    mdm = deployment
    assert mdm.branding() is None and mdm.portal.branding() is None
    with pytest.raises(mdmkit.InvalidInput):
        mdm.set_branding("Example Org", primary_colour="#12345")
    with pytest.raises(mdmkit.InvalidInput):
        mdm.set_branding("Example Org", logo=b"%PDF-1.7")
    with pytest.raises(mdmkit.InvalidInput):
        mdm.set_branding("Example Org", logo=PNG + b"\0" * (512 * 1024))
    assert mdm.branding() is None, "refused branding stores nothing"

    first = mdm.set_branding("Example Org", primary_colour="#a1b2c3", logo=PNG)
    assert (first.name, first.primary_colour, first.accent_colour) == (
        "Example Org",
        "#A1B2C3",
        None,
    )
    assert first.logo == PNG and first.logo_content_type == "image/png"
    assert first.updated_at.utcoffset() == timedelta(0)
    assert repr(first).startswith("PortalBranding(name='Example Org'")
    assert f"logo=<{len(PNG)} bytes>" in repr(first), repr(first)
    assert first.to_dict()["logo"] == PNG

    # Replaced, not merged: the logo set before is gone.
    second = mdm.set_branding("Example Org 2", accent_colour="#00ff00")
    assert second.logo is None and second.logo_content_type is None
    assert second.accent_colour == "#00FF00" and second.updated_at >= first.updated_at

    # Another handle on the same store, the portal without a sign-in, and a session.
    url, key = store
    other = mdmkit.open(url, key=key)
    for read in (other.branding(), other.portal.branding()):
        assert read is not None and read.to_dict() == second.to_dict()
    signed_in = invite(mdm, "bob", "bob-pw-1")
    seen = mdm.portal.session(signed_in.token).branding()
    assert seen is not None and seen.name == "Example Org 2"
