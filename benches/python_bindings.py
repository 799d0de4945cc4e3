"""The Python bindings' per-call overhead: decode 10,000 check-in bodies with
`mdmkit.decode_checkin` (typed), against the same Rust call (`Checkin::decode`, best of 5
rounds, on the same bodies: `bindings-bench-reference decode`, bindings/bench) and against
the standard library's `plistlib` (parse only, no types).

Run with the venv that `scripts/python.sh` makes, after a release build of the module
(`maturin develop --release` in bindings/python), from the repository root; `--debug`
compares the debug module scripts/python.sh builds with a debug Rust side:

    .venv/bin/python benches/python_bindings.py [--debug]
"""

from __future__ import annotations

import os
import plistlib
import re
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List

import mdmkit

ROOT = Path(__file__).resolve().parents[1]
N = 10_000


def bodies() -> List[bytes]:
    return [
        plistlib.dumps(
            {
                "MessageType": "TokenUpdate",
                "UDID": f"UDID-{i:05}",
                "Topic": "com.apple.mgmt.External.bench",
                "Token": bytes([i % 256]) * 32,
                "PushMagic": f"magic-{i}",
                "UnlockToken": b"\x07" * 256,
            }
        )
        for i in range(N)
    ]


def best_of(rounds: int, run: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    data = bodies()

    def ours() -> None:
        for body in data:
            mdmkit.decode_checkin(body)

    def ours_to_dict() -> None:
        for body in data:
            mdmkit.decode_checkin(body).to_dict()

    def stdlib() -> None:
        for body in data:
            plistlib.loads(body)

    t_ours = best_of(5, ours)
    t_dict = best_of(5, ours_to_dict)
    t_plistlib = best_of(5, stdlib)
    if "--no-rust" in sys.argv:
        rust = "rust: not run (--no-rust)"
    else:
        rust = rust_reference(data)
    print(rust)
    print(f"python mdmkit.decode_checkin: {t_ours * 1e3:.1f} ms ({t_ours * 1e6 / N:.2f} us each)")
    print(f"python decode_checkin + to_dict: {t_dict * 1e3:.1f} ms")
    print(f"python plistlib.loads (parse only): {t_plistlib * 1e3:.1f} ms")
    print(f"ours / plistlib: {t_ours / t_plistlib:.2f}x (goal <= 1x)")
    found = re.search(r"in ([0-9.]+) ms", rust)
    if found:
        print(f"ours / rust: {t_ours * 1e3 / float(found.group(1)):.2f}x (goal <= 2x)")
    return 0


def rust_reference(data: List[bytes]) -> str:
    """The same bodies decoded in Rust (`bindings-bench-reference decode`)."""
    with tempfile.NamedTemporaryFile(delete=False) as out:
        for body in data:
            out.write(struct.pack("<I", len(body)) + body)
    release = "--debug" not in sys.argv
    profile = ["--release"] if release else []
    subprocess.run(
        ["cargo", "build", "-q", "-p", "mdmkit-bindings-bench", *profile], cwd=ROOT, check=True
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    reference = target / ("release" if release else "debug") / "bindings-bench-reference"
    rust = subprocess.run(
        [str(reference), "decode", out.name], capture_output=True, text=True, check=True
    ).stdout.strip()
    os.unlink(out.name)
    return rust


if __name__ == "__main__":
    sys.exit(main())
