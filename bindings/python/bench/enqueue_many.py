"""One command queued to many devices (default 100,000) through the binding
(`Devices.enqueue_many`) against the same service call in Rust, in the same run, on copies
of one fixture store. Goal: at most 2x the Rust time.

From the repository root, after `scripts/python.sh` (a debug module: the Rust side is then
a debug build too; for release figures build both with --release and pass --release):

    .venv/bin/python bindings/python/bench/enqueue_many.py [N] [--release]

The fixture and the Rust side are `bindings-bench-reference` (bindings/bench).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mdmkit

ROOT = Path(__file__).resolve().parents[3]


def copy_store(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 100_000
    profile = ["--release"] if "--release" in sys.argv else []
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    subprocess.run(
        ["cargo", "build", "-q", "-p", "mdmkit-bindings-bench", *profile], cwd=ROOT, check=True
    )
    reference = target / ("release" if profile else "debug") / "bindings-bench-reference"
    key = secrets.token_hex(32)
    with tempfile.TemporaryDirectory() as work:
        fixture = Path(work) / "fixture.db"
        subprocess.run([reference, "fixture", fixture, key, str(n)], check=True)
        rust_store = Path(work) / "rust.db"
        copy_store(fixture, rust_store)
        rust = subprocess.run(
            [reference, "enqueue", rust_store, key, str(n)],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        print(rust)
        rust_ms = float(rust.split(" in ")[1].split(" ms")[0])

        python_store = Path(work) / "python.db"
        copy_store(fixture, python_store)
        mdm = mdmkit.open(str(python_store), key=key)
        ids = [f"00008030-{i:016X}" for i in range(n)]
        command = {"RequestType": "DeviceInformation", "Queries": ["OSVersion"]}
        started = time.perf_counter()
        bulk = mdm.devices.enqueue_many(ids, command)
        python_ms = (time.perf_counter() - started) * 1e3
        assert len(bulk.queued) == n, bulk.refused[:1]
        print(f"python: enqueue to {n} devices in {python_ms:.1f} ms "
              f"({python_ms * 1e3 / n:.2f} us per device)")
        print(f"python / rust: {python_ms / rust_ms:.2f}x (goal <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
