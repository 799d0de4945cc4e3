"""Serve devices from a Python web app: mdmkit's MDM endpoints are sans-IO, so any
framework (Flask, Django, FastAPI through `handle_async`) can host them. This example uses
only the standard library's WSGI server.

    MDMKIT_KEY=<64 hex digits> python wsgi_server.py mdmkit.db --port 8080

Behind a TLS-terminating proxy that passes the device's client certificate, give its DER
as `peer_certificate`; otherwise devices sign their messages (the `Mdm-Signature` header).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Iterable, List, Optional, Tuple
from wsgiref.simple_server import make_server

import mdmkit

StartResponse = Callable[[str, List[Tuple[str, str]]], object]
Environ = dict[str, object]

STATUS_TEXT = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
               404: "Not Found", 410: "Gone", 500: "Internal Server Error"}


def make_app(mdm: mdmkit.Mdm) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", "/"))
        if not path.startswith("/mdm"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        length = int(str(environ.get("CONTENT_LENGTH") or 0))
        stream = environ["wsgi.input"]
        body = stream.read(length) if hasattr(stream, "read") else b""
        headers = [
            (key[5:].replace("_", "-").title(), str(value))
            for key, value in environ.items()
            if key.startswith("HTTP_")
        ]
        if environ.get("CONTENT_TYPE"):
            headers.append(("Content-Type", str(environ["CONTENT_TYPE"])))
        peer: Optional[bytes] = None  # the proxy's client-certificate header, decoded, if any
        answer = mdm.handle(str(environ["REQUEST_METHOD"]), path, headers, body, peer)
        if answer.error:
            print(f"refused {path}: {answer.error}", file=sys.stderr)
        status = f"{answer.status} {STATUS_TEXT.get(answer.status, 'Status')}"
        start_response(status, list(answer.headers))
        return [answer.body]

    return app


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="serve mdmkit's MDM endpoints over WSGI")
    parser.add_argument("store")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    mdm = mdmkit.open(args.store, key=os.environ["MDMKIT_KEY"])
    with make_server("127.0.0.1", args.port, make_app(mdm)) as server:
        print(f"serving devices on http://127.0.0.1:{args.port}/mdm")
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
