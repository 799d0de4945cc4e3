"""Watch what expires in an mdmkit deployment and e-mail the administrators.

Prints every credential (push certificates, and optionally the MDM vendor certificate and
ADE server tokens) with its days remaining, then sends the notices that are due from 60 days
before expiry through the SMTP settings kept in the store (`smtp_url`, `smtp_from`,
`admin_email`). Run it daily (cron); a notice is repeated at most once a week.

    MDMKIT_KEY=<64 hex digits> python expiry_watch.py mdmkit.db [--vendor-cert vendor.pem] [--ade "School=2025-09-01T00:00:00+00:00"]
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

import mdmkit


def ade_token(text: str) -> tuple[str, datetime]:
    name, _, when = text.partition("=")
    return name, datetime.fromisoformat(when)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("store", help="the store: an SQLite file")
    parser.add_argument("--vendor-cert", type=Path, help="the MDM vendor certificate")
    parser.add_argument("--ade", type=ade_token, action="append", default=[], help="NAME=EXPIRY")
    args = parser.parse_args(argv)

    mdm = mdmkit.open(args.store, key=os.environ["MDMKIT_KEY"])
    vendor = args.vendor_cert.read_bytes() if args.vendor_cert else None
    try:
        for entry in mdm.expiry.dashboard(vendor_certificate=vendor, ade_tokens=args.ade):
            flag = "  RENEW NOW" if entry.renew_now else ""
            print(f"{entry.kind} {entry.name}: {entry.days_remaining} days remaining{flag}")
        sent = mdm.expiry.send_due_notices(vendor_certificate=vendor, ade_tokens=args.ade)
    except mdmkit.MdmError as error:
        print(f"error ({error.code}): {error}", file=sys.stderr)
        return 1
    print(f"sent {len(sent)} notice(s)")
    for notice in sent:
        print(f"  {notice.key}: {notice.subject}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
