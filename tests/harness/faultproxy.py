"""A fault-injecting HTTP reverse proxy on 127.0.0.1 for crawler tests.

Every request is forwarded to an upstream base URL unless a programmed fault
matches it; every request is recorded, so tests can check pacing, User-Agent and
which paths were fetched.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)


@dataclass
class Fault:
    """A canned answer for requests whose path+query contains `match`.

    `times` is how many more requests it answers; -1 means every one. `delay`
    seconds pass before answering.
    """

    match: str
    status: int
    headers: dict[str, str]
    body: bytes
    times: int = 1
    delay: float = 0.0
    hits: int = 0


@dataclass(frozen=True)
class RecordedRequest:
    """One request the proxy received, and how it answered."""

    time: float
    wall_time: float
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    faulted: bool
    response_bytes: int = 0

    def header(self, name: str) -> str | None:
        """The request header `name`, matched case-insensitively."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    @property
    def user_agent(self) -> str | None:
        """The User-Agent the client sent."""
        return self.header("User-Agent")


@dataclass
class _Override:
    match: str
    headers: dict[str, str] = field(default_factory=dict)


class FaultProxy:
    """Reverse proxy in front of `upstream` (e.g. http://127.0.0.1:8080), in a thread.

    `Location` headers that point at the upstream are rewritten to the proxy; bodies
    are passed through unchanged.
    """

    def __init__(self, upstream: str, *, timeout: float = 60.0) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._netloc = parts.netloc
        self._prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._overrides: list[_Override] = []
        self._requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FaultProxy:
        """Listen on a free port of 127.0.0.1 and serve in a daemon thread."""
        if self._server is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"proxy": self})
        server = _QuietServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="faultproxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        """The proxy's base URL, e.g. http://127.0.0.1:40123."""
        if self._server is None:
            raise RuntimeError("proxy not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- programming faults --------------------------------------------------

    def add_fault(
        self,
        match: str,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        times: int = 1,
        delay: float = 0.0,
    ) -> Fault:
        """Answer the next `times` requests whose path+query contains `match` (-1: all)."""
        fault = Fault(match, status, dict(headers or {}), body, times, delay)
        with self._lock:
            self._faults.append(fault)
        return fault

    def add_maxlag(
        self, match: str = "api.php", times: int = 1, lag: int = 3, retry_after: int = 1
    ) -> Fault:
        """MediaWiki's maxlag answer: HTTP 200 with a `maxlag` API error."""
        info = f"Waiting for 127.0.0.1: {lag} seconds lagged"
        body = json.dumps({"error": {"code": "maxlag", "info": info}}).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "MediaWiki-API-Error": "maxlag",
            "Retry-After": str(retry_after),
            "X-Database-Lag": str(lag),
        }
        return self.add_fault(match, 200, headers, body, times)

    def add_unavailable(
        self, match: str = "", times: int = 1, retry_after: int = 1, status: int = 503
    ) -> Fault:
        """A 503 (or `status`, e.g. 429) with Retry-After."""
        headers = {"Content-Type": "text/plain; charset=utf-8", "Retry-After": str(retry_after)}
        return self.add_fault(match, status, headers, f"HTTP {status}\n".encode(), times)

    def set_robots_txt(self, text: str, times: int = -1) -> Fault:
        """Answer /robots.txt with `text` instead of the upstream's."""
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        return self.add_fault("/robots.txt", 200, headers, text.encode(), times)

    def set_header_override(self, path_substring: str, headers: Mapping[str, str]) -> None:
        """Add (or replace) `headers` on every response whose path+query contains it."""
        with self._lock:
            self._overrides.append(_Override(path_substring, dict(headers)))

    def clear_faults(self) -> None:
        """Drop all faults and header overrides."""
        with self._lock:
            self._faults.clear()
            self._overrides.clear()

    # -- what was seen ---------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests seen so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    # -- used by the handler ---------------------------------------------------

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times != 0 and fault.match in path:
                    if fault.times > 0:
                        fault.times -= 1
                    fault.hits += 1
                    return fault
        return None

    def _overrides_for(self, path: str) -> dict[str, str]:
        with self._lock:
            merged: dict[str, str] = {}
            for override in self._overrides:
                if override.match in path:
                    merged.update(override.headers)
            return merged

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        try:
            sent = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP | {"host"}]
            conn.putrequest(method, self._prefix + path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", self._netloc)
            for key, value in sent:
                if key.lower() != "content-length":
                    conn.putheader(key, value)
            if body or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            response = conn.getresponse()
            data = response.read()
            return response.status, response.getheaders(), data
        finally:
            conn.close()

    def _rewrite_location(self, value: str) -> str:
        if value.startswith(self.upstream):
            return self.url + value[len(self.upstream) :]
        return value


class _QuietServer(ThreadingHTTPServer):
    """Ignores clients that vanish mid-request (a crawler killed by a test)."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Keep quiet."""

    def do_GET(self) -> None:
        """Proxy or fault; every method is handled alike."""
        self._handle()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _handle(self) -> None:
        started, wall = time.monotonic(), time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = list(self.headers.items())
        fault = self.proxy._take_fault(self.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            status, out_headers, data = fault.status, list(fault.headers.items()), fault.body
        else:
            try:
                status, out_headers, data = self.proxy._forward(
                    self.command, self.path, headers, body
                )
            except OSError as exc:
                status, data = 502, f"upstream error: {exc}\n".encode()
                out_headers = [("Content-Type", "text/plain; charset=utf-8")]
        self.proxy._record(
            RecordedRequest(
                time=started,
                wall_time=wall,
                method=self.command,
                path=self.path,
                headers=dict(headers),
                body=body,
                status=status,
                faulted=fault is not None,
                response_bytes=len(data),
            )
        )
        self._respond(status, out_headers, data)

    def _respond(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        overrides = self.proxy._overrides_for(self.path)
        lowered = {k.lower() for k in overrides}
        self.send_response_only(status)
        if not any(k.lower() == "date" for k, _ in headers):
            self.send_header("Date", self.date_time_string())
        content_length = None
        for key, value in headers:
            name = key.lower()
            if name in _HOP_BY_HOP or name in lowered:
                continue
            if name == "content-length":
                content_length = value
                continue
            if name == "location":
                value = self.proxy._rewrite_location(value)
            self.send_header(key, value)
        for key, value in overrides.items():
            self.send_header(key, value)
        if self.command == "HEAD" and content_length is not None:
            self.send_header("Content-Length", content_length)
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)
