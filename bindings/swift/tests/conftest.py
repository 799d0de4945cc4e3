"""Fixtures for the tests of the Swift component through UniFFI's Python bindings of the
same cdylib (scripts/swift.sh generates them into a directory on sys.path).

A throw-away certificate authority made with the openssl command stands in for Apple's
portal (push certificates of any topic and validity) and is the device CA."""

from __future__ import annotations

import asyncio
import plistlib
import secrets
import subprocess
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, Optional, TypeVar

import pytest

import mdmkit_swift as mk

REPO = Path(__file__).resolve().parents[3]
T = TypeVar("T")

CA_CONFIG = """[ca]
default_ca = test
[test]
database = index.txt
new_certs_dir = .
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
serial = serial
unique_subject = no
[any]
commonName = optional
UID = optional
"""


def run(coroutine: Awaitable[T]) -> T:
    """Runs one async call of the bindings to completion."""

    async def wrapper() -> T:
        return await coroutine

    return asyncio.run(wrapper())


def code_of(error: BaseException) -> str:
    """The stable code an MdmError carries."""
    assert isinstance(error, mk.MdmError), repr(error)
    return str(error.code)


def raises_code(code: str, call: Callable[[], Any]) -> mk.MdmError:
    """Runs `call` (awaiting what it returns) and checks it fails with `code`."""
    with pytest.raises(mk.MdmError) as raised:
        result = call()
        if asyncio.iscoroutine(result):
            run(result)
    assert code_of(raised.value) == code, raised.value
    return raised.value


def openssl(cwd: Path, *args: str, data: Optional[bytes] = None) -> bytes:
    done = subprocess.run(
        ["openssl", *args], cwd=cwd, input=data, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {done.stderr.decode()}")
    return done.stdout


class Pki:
    """A test CA issuing push-like certificates (`UID=<topic>` in the subject)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("1000\n")
        (self.dir / "ca.cnf").write_text(CA_CONFIG)
        openssl(
            self.dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-subj", "/CN=Test Apple Push CA", "-days", "3650",
        )

    @property
    def ca_pem(self) -> bytes:
        return (self.dir / "ca.pem").read_bytes()

    @property
    def ca_key(self) -> bytes:
        return (self.dir / "ca.key").read_bytes()

    def key_and_csr(self) -> tuple[bytes, bytes]:
        name = uuid.uuid4().hex
        openssl(
            self.dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", "/CN=customer",
        )
        return (self.dir / f"{name}.key").read_bytes(), (self.dir / f"{name}.csr").read_bytes()

    def issue(
        self,
        csr_pem: bytes,
        topic: Optional[str],
        start: str = "20250101000000Z",
        end: Optional[str] = None,
        days: int = 365,
    ) -> bytes:
        """A certificate (PEM) for the CSR's key with `UID=topic` (no UID when None)."""
        name = uuid.uuid4().hex
        (self.dir / f"{name}.csr").write_bytes(csr_pem)
        subject = f"/UID={topic}/CN=APSP:{topic.rsplit('.', 1)[-1]}" if topic else "/CN=no topic"
        dates = ["-startdate", start, "-enddate", end] if end else ["-days", str(days)]
        openssl(
            self.dir, "ca", "-batch", "-config", "ca.cnf", "-in", f"{name}.csr", "-out",
            f"{name}.pem", "-subj", subject, "-notext", *dates,
        )
        return (self.dir / f"{name}.pem").read_bytes()

    def pkcs12(self, cert_pem: bytes, key_pem: bytes, password: str) -> bytes:
        name = uuid.uuid4().hex
        (self.dir / f"{name}.pem").write_bytes(cert_pem + key_pem)
        return openssl(
            self.dir, "pkcs12", "-export", "-in", f"{name}.pem", "-passout",
            f"pass:{password}",
        )

    def der(self, cert_pem: bytes) -> bytes:
        return openssl(self.dir, "x509", "-outform", "DER", data=cert_pem)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


def new_topic() -> str:
    return f"com.apple.mgmt.External.{uuid.uuid4()}"


@pytest.fixture()
def store(tmp_path: Path) -> tuple[str, str]:
    """An SQLite store location and its at-rest key."""
    return str(tmp_path / "mdmkit.db"), secrets.token_hex(32)


def open_mdm(url: str, key: Optional[str]) -> Any:
    return run(mk.Mdm.open(url, key, {}))


@pytest.fixture()
def mdm(store: tuple[str, str], pki: Pki) -> Iterator[Any]:
    """A fresh SQLite deployment, initialised with the test CA as device CA, reopened."""
    url, key = store
    run(
        open_mdm(url, key).enrollment().initialize(
            "https://mdm.example.com", "com.example.mdm", "Example Org",
            "admins@example.com", None, None, pki.ca_pem, pki.ca_key,
        )
    )
    yield open_mdm(url, key)


def install_push_certificate(mdm: Any, pki: Pki, topic: Optional[str] = None) -> str:
    topic = topic or new_topic()
    csr = run(mdm.push_certs().create_request("admin@example.com", None))
    run(mdm.push_certs().install(pki.issue(csr.encode(), topic), None, "apple@example.com", None, None))
    return topic


def request(path: str, body: bytes, identity: Optional[bytes] = None) -> Any:
    return mk.MdmRequest(method="PUT", path=path, headers=[], body=body, peer_certificate=identity)


@pytest.fixture()
def enrolled(mdm: Any, pki: Pki) -> tuple[str, bytes]:
    """A device enrolled through the sans-IO endpoint (Authenticate, TokenUpdate) with an
    identity certificate from the device CA, presented as a TLS client certificate."""
    udid = str(uuid.uuid4()).upper()
    _, csr = pki.key_and_csr()
    identity = pki.der(pki.issue(csr, None))
    topic = new_topic()
    messages: list[dict[str, object]] = [
        {
            "MessageType": "Authenticate", "UDID": udid, "Topic": topic, "Model": "iPhone",
            "ProductName": "iPhone15,2", "OSVersion": "17.4", "SerialNumber": "F00TEST",
        },
        {
            "MessageType": "TokenUpdate", "UDID": udid, "Topic": topic,
            "Token": secrets.token_bytes(32), "PushMagic": str(uuid.uuid4()),
            "UnlockToken": secrets.token_bytes(64),
        },
    ]
    for message in messages:
        answer = run(mdm.handle(request("/mdm/checkin", plistlib.dumps(message), identity)))
        assert answer.status == 200, answer.error
    return udid, identity


@pytest.fixture()
def device(enrolled: tuple[str, bytes]) -> str:
    """The enrolled device's enrollment id."""
    return enrolled[0]
