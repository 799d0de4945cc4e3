"""10,000 pushes to the mock APNs server through the binding (`check_in_now`, the device
action that only pushes), against the same service call in Rust, in the same run.

From the repository root, after `scripts/python.sh` (a debug module) and
`cargo build -p mdmkit-cli`:

    .venv/bin/python bindings/python/bench/push_mock.py [N] [ROUNDS] [--release]

A throw-away CA (the openssl command) issues the mock's server certificate, the push
certificate (`UID=<topic>`) the mock trusts, and the device identity. The mock is
`target/debug/mdmkit push mock-server`; the store (SQLite) gets the push certificate, the
mock as `apns_endpoint` with its CA, and one device enrolled by signed Authenticate and
TokenUpdate through `handle`. A copy of that store (`VACUUM INTO`) is taken for the Rust
side. Then N pushes to that device, one call at a time (`devices.check_in_now`) and all N
in flight (`devices_async.check_in_now` with `asyncio.gather`); then the Rust reference
(`bindings-bench-reference push`, bindings/bench) makes the same `check_in_now` calls
through `mdmkit_service::Mdm` on the copy, to the same mock with the same push
certificate, one at a time and all in flight (tokio tasks). ROUNDS rounds (default 3)
alternate the two sides, so both see the same load, and the best time of each is compared
(goal: at most 2x). Both sides are debug builds unless `--release` is given: then build
the module with `maturin develop --release` first; the reference is built here with
`--release` (the mock stays the debug `mdmkit`, the same for both sides).
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import List, Tuple

import mdmkit

ROOT = Path(__file__).resolve().parents[3]


def plist(entries: List[Tuple[str, str | bytes]]) -> bytes:
    parts = []
    for k, v in entries:
        value = (
            f"<data>{base64.b64encode(v).decode()}</data>"
            if isinstance(v, bytes)
            else f"<string>{v}</string>"
        )
        parts.append(f"<key>{k}</key>{value}")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>'
        + "".join(parts)
        + "</dict></plist>"
    ).encode()


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 10_000
    rounds = int(args[1]) if len(args) > 1 else 3
    profile = ["--release"] if "--release" in sys.argv else []
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    cli = target / "debug" / "mdmkit"
    if not cli.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "mdmkit-cli"], cwd=ROOT, check=True)
    subprocess.run(
        ["cargo", "build", "-q", "-p", "mdmkit-bindings-bench", *profile], cwd=ROOT, check=True
    )
    reference = target / ("release" if profile else "debug") / "bindings-bench-reference"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)

        def ssl(*args: str) -> bytes:
            return subprocess.run(
                ["openssl", *args], cwd=work, check=True, capture_output=True
            ).stdout

        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-subj", "/CN=Bench CA", "-days", "30")

        def issue(name: str, subject: str, ext: str = "") -> None:
            ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
                "-out", f"{name}.csr", "-subj", subject)
            extra: List[str] = []
            if ext:
                (work / f"{name}.ext").write_text(ext)
                extra = ["-extfile", f"{name}.ext"]
            ssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "30", *extra)

        topic = f"com.apple.mgmt.External.{uuid.uuid4()}"
        issue("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        issue("push", f"/UID={topic}/CN=APSP:bench")
        issue("device", "/CN=device identity")

        mock_key = work / "mock.key"
        mock_key.write_text(secrets.token_hex(32) + "\n")
        mock_key.chmod(0o600)
        mock = subprocess.Popen(
            [str(cli), "push", "mock-server", "--db", str(work / "mock.db"),
             "--key-file", str(mock_key), "--listen", "127.0.0.1:0",
             "--ca", "ca.pem", "--cert", "server.pem", "--key", "server.key"],
            cwd=work, stdout=subprocess.PIPE, text=True,
        )
        try:
            assert mock.stdout is not None
            url = ""
            for line in mock.stdout:
                found = re.search(r"listening on (https://\S+)", line)
                if found:
                    url = found.group(1)
                    break
            if not url:
                raise RuntimeError("the mock APNs server did not start")

            key = secrets.token_hex(32)
            store = str(work / "bench.db")
            setup = mdmkit.open(store, key=key)
            setup.enrollment.init(
                base_url="https://mdm.example.com",
                enrollment_profile_id="com.example.mdm",
                organisation="Bench Org",
                device_ca=((work / "ca.pem").read_bytes(), (work / "ca.key").read_bytes()),
            )
            setup.settings.set("apns_endpoint", url)
            setup.settings.set("apns_server_ca", (work / "ca.pem").read_text())
            setup.push_certs.install(
                (work / "push.pem").read_bytes() + (work / "push.key").read_bytes(),
                apple_id="bench@example.com",
            )
            mdm = mdmkit.open(store, key=key)

            udid = str(uuid.uuid4()).upper()
            messages: List[List[Tuple[str, str | bytes]]] = [
                [("MessageType", "Authenticate"), ("UDID", udid), ("Topic", topic)],
                [("MessageType", "TokenUpdate"), ("UDID", udid), ("Topic", topic),
                 ("Token", secrets.token_bytes(32)), ("PushMagic", str(uuid.uuid4()))],
            ]
            for message in messages:
                body = plist(message)
                (work / "body").write_bytes(body)
                signature = ssl("cms", "-sign", "-binary", "-outform", "DER", "-in", "body",
                                "-signer", "device.pem", "-inkey", "device.key")
                answer = mdm.handle("PUT", "/mdm/checkin",
                                    [("Mdm-Signature", base64.b64encode(signature).decode())],
                                    body)
                if answer.status != 200:
                    raise RuntimeError(f"enrollment: {answer.status} {answer.error}")

            # The Rust side's store: a consistent copy of this one, device enrolled.
            rust_store = str(work / "rust.db")
            with sqlite3.connect(store) as db:
                db.execute("VACUUM INTO ?", (rust_store,))

            first = mdm.devices.check_in_now(udid)
            if not first.pushed:
                raise RuntimeError(f"the push failed: {first.to_dict()}")
            for _ in range(min(200, n)):
                mdm.devices.check_in_now(udid)

            async def gather() -> float:
                devices = mdm.devices_async
                began = time.perf_counter()
                outcomes = await asyncio.gather(*(devices.check_in_now(udid) for _ in range(n)))
                elapsed = (time.perf_counter() - began) * 1e3
                assert all(o.pushed for o in outcomes)
                return elapsed

            def report(who: str, how: str, ms: float) -> None:
                print(f"{who}, {how}: {n} pushes in {ms:.1f} ms "
                      f"({n / ms * 1e3:.0f} pushes/s, {ms * 1e3 / n:.1f} us each)")

            # Rounds alternate the two sides, so both see the same load; best of each.
            best = {"python one": float("inf"), "python all": float("inf"),
                    "rust one": float("inf"), "rust all": float("inf")}
            for _ in range(rounds):
                started = time.perf_counter()
                for _ in range(n):
                    outcome = mdm.devices.check_in_now(udid)
                one_ms = (time.perf_counter() - started) * 1e3
                assert outcome.pushed, outcome.to_dict()
                report("python", "one call at a time", one_ms)
                all_ms = asyncio.run(gather())
                report("python", "all in flight (asyncio)", all_ms)
                out = subprocess.run(
                    [str(reference), "push", rust_store, key, str(n), udid],
                    check=True, capture_output=True, text=True,
                ).stdout
                print(out.strip())
                rust_one, rust_all = (float(ms) for ms in re.findall(r"in ([0-9.]+) ms", out))
                for name, ms in (("python one", one_ms), ("python all", all_ms),
                                 ("rust one", rust_one), ("rust all", rust_all)):
                    best[name] = min(best[name], ms)
            build = "release" if profile else "debug"
            print(f"best of {rounds}, {build}: python one at a time {best['python one']:.1f} ms, "
                  f"rust {best['rust one']:.1f} ms -> {best['python one'] / best['rust one']:.2f}x; "
                  f"all in flight python {best['python all']:.1f} ms, rust "
                  f"{best['rust all']:.1f} ms -> {best['python all'] / best['rust all']:.2f}x "
                  f"(goal <= 2x)")
        finally:
            mock.terminate()
            mock.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
