"""The examples, run as a script user runs them: renew a push certificate (status, CSR,
install, status) and send the due expiry notices to a local SMTP server."""

from __future__ import annotations

import email
import os
import socket
import subprocess
import sys
from email.message import Message
from pathlib import Path
from typing import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session, SMTP

import mdmkit
from conftest import REPO, Pki, new_topic

EXAMPLES = REPO / "examples" / "python"


def run(script: str, *args: str, key: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        env={**os.environ, "MDMKIT_KEY": key},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_renew_push_cert(store: tuple[str, str], pki: Pki, tmp_path: Path) -> None:
    url, key = store
    mdm = mdmkit.open(url, key=key)
    topic = new_topic()
    first = mdm.push_certs.create_request("admin@example.com").encode()
    mdm.push_certs.install(pki.issue(first, topic, days=20), "apple@example.com", note="2024")

    csr = tmp_path / "push.csr"
    step1 = run("renew_push_cert.py", url, "request", "--email", "admin@example.com",
                "--csr", str(csr), key=key)
    assert step1.returncode == 0, step1.stderr
    assert f"{topic}: 19 days remaining" in step1.stdout and "RENEW NOW" in step1.stdout
    issued = tmp_path / "MDM_Push.pem"
    issued.write_bytes(pki.issue(csr.read_bytes(), topic, days=365))
    step2 = run("renew_push_cert.py", url, "install", str(issued), "--apple-id",
                "apple@example.com", key=key)
    assert step2.returncode == 0, step2.stderr
    assert f"renewed {topic}" in step2.stdout and "364 days remaining" in step2.stdout
    # A certificate of another topic is refused with the explanation; nothing changes.
    other = tmp_path / "other.pem"
    again = run("renew_push_cert.py", url, "request", "--email", "a@example.com", "--csr",
                str(csr), key=key)
    assert again.returncode == 0
    other.write_bytes(pki.issue(csr.read_bytes(), new_topic()))
    wrong = run("renew_push_cert.py", url, "install", str(other), "--apple-id", "a@example.com",
                key=key)
    assert wrong.returncode == 2 and "wrong certificate" in wrong.stderr and topic in wrong.stderr
    assert [s.days_remaining for s in mdmkit.open(url, key=key).push_certs.status()] == [364]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(content)))
        return "250 OK"


@pytest.fixture()
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_expiry_watch(
    mdm: mdmkit.Mdm, store: tuple[str, str], pki: Pki, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    url, key = store
    mdm.settings.set("smtp_url", f"smtp://127.0.0.1:{port}")
    mdm.settings.set("smtp_from", "mdm@example.com")
    topic = new_topic()
    csr = mdm.push_certs.create_request("admin@example.com").encode()
    mdm.push_certs.install(pki.issue(csr, topic, days=30), "apple@example.com")

    first = run("expiry_watch.py", url, "--ade", "School=2099-01-01T00:00:00+00:00", key=key)
    assert first.returncode == 0, first.stderr
    assert f"push_certificate {topic}: 29 days remaining  RENEW NOW" in first.stdout
    assert "dep_server_token School" in first.stdout and "sent 1 notice(s)" in first.stdout
    [(recipients, message)] = inbox.messages
    assert recipients == ["admins@example.com"]
    assert str(message["Subject"]).startswith("[Example Org] Apple Push certificate expires")
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    text = body.decode()
    assert "29 days remain" in text and "https://mdm.example.com/console" in text
    # Not twice within the interval.
    second = run("expiry_watch.py", url, key=key)
    assert second.returncode == 0 and "sent 0 notice(s)" in second.stdout
    assert len(inbox.messages) == 1


def test_expiry_watch_without_smtp_settings(store: tuple[str, str], mdm: mdmkit.Mdm) -> None:
    url, key = store
    done = run("expiry_watch.py", url, key=key)
    assert done.returncode == 1 and "setting_missing" in done.stderr and "smtp_url" in done.stderr


def test_wsgi_server_example(mdm: mdmkit.Mdm) -> None:
    import io
    import plistlib
    import sys as _sys
    from wsgiref.util import setup_testing_defaults

    _sys.path.insert(0, str(EXAMPLES))
    try:
        import wsgi_server
    finally:
        _sys.path.remove(str(EXAMPLES))
    app = wsgi_server.make_app(mdm)
    body = plistlib.dumps({"MessageType": "Authenticate", "UDID": "U-1", "Topic": "t"})
    environ: dict[str, object] = {}
    setup_testing_defaults(environ)
    environ.update(
        REQUEST_METHOD="PUT",
        PATH_INFO="/mdm/checkin",
        CONTENT_LENGTH=str(len(body)),
        CONTENT_TYPE="application/x-apple-aspen-mdm-checkin",
        **{"wsgi.input": io.BytesIO(body)},
    )
    seen: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> object:
        seen.append(status)
        return None

    chunks = list(app(environ, start_response))
    # Unsigned and without a client certificate: the device is refused, with a 400.
    assert seen == ["400 Bad Request"] and isinstance(chunks[0], bytes)
    environ["PATH_INFO"] = "/elsewhere"
    list(app(environ, start_response))
    assert seen[-1] == "404 Not Found"
