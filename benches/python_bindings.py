"""The Python bindings' per-call overhead: decode 10,000 check-in bodies with
`mdmkit.decode_checkin` (typed), against the same Rust call (the `checkin_decode` bench, on
the same bodies) and against the standard library's `plistlib` (parse only, no types).

Run with the venv that `scripts/python.sh` makes, after a release build of the module
(`maturin develop --release`), from the repository root:

    .venv/bin/python benches/python_bindings.py
"""

from __future__ import annotations

import os
import plistlib
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
    return 0


def rust_reference(data: List[bytes]) -> str:
    """The same bodies decoded by the Rust bench `checkin_decode` (a release build)."""
    with tempfile.NamedTemporaryFile(delete=False) as out:
        for body in data:
            out.write(struct.pack("<I", len(body)) + body)
    rust = subprocess.run(
        ["cargo", "bench", "-q", "-p", "mdmkit-benches", "--bench", "checkin_decode"],
        cwd=ROOT,
        env={**os.environ, "MDMKIT_BENCH_BODIES": out.name},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    os.unlink(out.name)
    return rust


if __name__ == "__main__":
    sys.exit(main())
