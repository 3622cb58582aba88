"""A loopback HTTP proxy in front of the moto server that fails chosen requests on purpose.

Real boto3 talks to it through ``AWS_ENDPOINT_URL`` like to any S3 endpoint. A rule answers
matching requests with ``503 SlowDown``, drops the connection without an answer, or cuts the
answer off half-way through its body; everything
else is passed to moto unchanged. The proxy also counts requests and the most GETs in flight.
"""

from __future__ import annotations

import http.client
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass
class Rule:
    method: str
    path: re.Pattern[str]
    action: str  # "503", "drop" or "cut" (half the body, then the connection closes)
    times: int | None  # None: every time
    hits: int = 0


class FaultyProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rules: list[Rule] = []
        self.lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.most_in_flight = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def log_message(self, format: str, *args: object) -> None:
                pass

            def handle_one(self) -> None:
                proxy.forward(self)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail(self, method: str, path: str, action: str, times: int | None = None) -> Rule:
        """Answer ``method`` requests whose path matches the regex ``path`` with ``action``."""
        rule = Rule(method, re.compile(path), action, times)
        self.rules.append(rule)
        return rule

    def _rule_for(self, method: str, path: str) -> Rule | None:
        with self.lock:
            self.requests += 1
            for rule in self.rules:
                wanted = rule.method == method and rule.path.search(path)
                if wanted and (rule.times is None or rule.hits < rule.times):
                    rule.hits += 1
                    return rule
        return None

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        rule = self._rule_for(handler.command, handler.path)
        if rule is not None and rule.action == "drop":
            handler.close_connection = True
            return
        if rule is not None and rule.action == "503":
            handler.send_response(503)
            handler.send_header("Content-Type", "application/xml")
            handler.send_header("Content-Length", str(len(SLOW_DOWN)))
            handler.end_headers()
            handler.wfile.write(SLOW_DOWN)
            return
        with self.lock:
            self.in_flight += handler.command == "GET"
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            connection = http.client.HTTPConnection(*self.upstream, timeout=30)
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
            connection.request(handler.command, handler.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            connection.close()
        finally:
            with self.lock:
                self.in_flight -= handler.command == "GET"
        handler.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP:
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if rule is not None:  # "cut"
            handler.wfile.write(payload[: len(payload) // 2])
            handler.close_connection = True
        elif handler.command != "HEAD":
            handler.wfile.write(payload)

    def __enter__(self) -> FaultyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
