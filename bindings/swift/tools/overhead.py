"""Per-call overhead of the Swift component's FFI, measured through UniFFI's Python bindings
of the same cdylib: 10,000 check-ins decoded one call each (the bodies are the ones of the
Rust test `decodes_ten_thousand_checkins_with_secrets_redacted`, which prints the Rust time
for the same work). Run with the generated bindings on PYTHONPATH (see scripts/swift.sh)."""

from __future__ import annotations

import time

import mdmkit_swift as mk

BODY = (
    '<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>'
    "<key>MessageType</key><string>TokenUpdate</string>"
    "<key>UDID</key><string>UDID-{index}</string>"
    "<key>Topic</key><string>com.apple.mgmt.External.x</string>"
    "<key>Token</key><data>AQID</data><key>PushMagic</key><string>m</string>"
    "<key>UnlockToken</key><data>c2VjcmV0</data></dict></plist>"
)


def main() -> None:
    bodies = [BODY.format(index=i).encode() for i in range(10_000)]
    started = time.perf_counter()
    decoded = [mk.decode_checkin(body) for body in bodies]
    elapsed = time.perf_counter() - started
    assert decoded[-1].enrollment_id == "UDID-9999"
    started = time.perf_counter()
    for _ in range(10_000):
        mk.error_codes()
    trivial = time.perf_counter() - started
    print(f"python/uniffi: 10000 decode_checkin in {elapsed * 1e3:.1f} ms "
          f"({elapsed * 1e6 / 10_000:.1f} µs per call); "
          f"10000 error_codes() (a list of ~70 strings back) in {trivial * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
