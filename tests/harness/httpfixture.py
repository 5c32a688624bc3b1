"""A fixture HTTP server on a free loopback port, served from a daemon thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar, Self


class LoopbackFixture:
    """Serves ``handler`` (which sees this object as ``self.fixture``) on 127.0.0.1.

    Subclasses set :attr:`handler` and :attr:`entry_path`; use it as a context manager.
    """

    handler: ClassVar[type[BaseHTTPRequestHandler]]
    #: Path of :attr:`url`, the address a crawl starts from.
    entry_path: ClassVar[str] = "/"
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "use the fixture as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.entry_path}"

    def __enter__(self) -> Self:
        bound = type("_Bound", (self.handler,), {"fixture": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
