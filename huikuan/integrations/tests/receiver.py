"""A real HTTP receiver for the webhook tests: http.server in a thread, verifying signatures with nothing
but the standard library (as the guide's example does) and handling each webhook-id once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: str, headers, body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, sig) for sig in headers["webhook-signature"].split())


class Receiver:
    def __init__(self, secrets: list[str] | None = None):
        self.secrets = secrets or []
        self.statuses: list[int] = []  # answers to give, in order; 200 once empty
        self.requests: list[dict] = []  # every request received
        self.handled: dict[str, dict] = {}  # webhook-id → event, processed once
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                valid = {s: verify(s, headers, body) for s in receiver.secrets}
                receiver.requests.append({"headers": headers, "body": body, "valid": valid})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200 and any(valid.values()) and headers["webhook-id"] not in receiver.handled:
                    receiver.handled[headers["webhook-id"]] = json.loads(body)
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"boom")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
