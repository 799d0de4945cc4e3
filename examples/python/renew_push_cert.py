"""Renew the yearly APNs push certificate of an mdmkit deployment.

Step 1 prints the status and writes a certificate signing request (the key stays in the
store, sealed); upload the CSR through your MDM vendor to Apple's Push Certificates Portal
and download the certificate Apple issues. Step 2 installs it and prints the status again.

    MDMKIT_KEY=<64 hex digits> python renew_push_cert.py mdmkit.db request --email you@example.com --csr push.csr
    MDMKIT_KEY=<64 hex digits> python renew_push_cert.py mdmkit.db install MDM_Push.pem --apple-id you@example.com
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import mdmkit


def print_status(mdm: mdmkit.Mdm) -> None:
    certificates = mdm.push_certs.status()
    if not certificates:
        print("no push certificate is installed")
    for cert in certificates:
        flag = "  RENEW NOW" if cert.renew_now else ""
        print(
            f"{cert.topic}: {cert.days_remaining} days remaining "
            f"(expires {cert.not_after:%Y-%m-%d}, {cert.status}){flag}"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("store", help="the store: an SQLite file")
    steps = parser.add_subparsers(dest="step", required=True)
    request = steps.add_parser("request", help="status, then a new CSR")
    request.add_argument("--email", required=True, help="the administrator's address")
    request.add_argument("--csr", required=True, type=Path, help="where to write the CSR")
    install = steps.add_parser("install", help="install Apple's certificate, then status")
    install.add_argument("certificate", type=Path, help="the certificate Apple issued")
    install.add_argument("--apple-id", required=True, help="the Apple ID used at the portal")
    install.add_argument("--note", help="a note kept with the certificate")
    args = parser.parse_args(argv)

    mdm = mdmkit.open(args.store, key=os.environ["MDMKIT_KEY"])
    try:
        if args.step == "request":
            print_status(mdm)
            args.csr.write_text(mdm.push_certs.create_request(args.email))
            print(f"wrote {args.csr}: upload it to Apple's Push Certificates Portal")
        else:
            report = mdm.push_certs.install(
                args.certificate.read_bytes(), args.apple_id, note=args.note
            )
            print(f"{report.action} {report.topic}")
            for device in report.synchronised:
                print(f"  pushed {device} to synchronise")
            print_status(mdm)
    except mdmkit.TopicMismatch as error:
        print(f"wrong certificate: {error}", file=sys.stderr)
        return 2
    except mdmkit.MdmError as error:
        print(f"error ({error.code}): {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
