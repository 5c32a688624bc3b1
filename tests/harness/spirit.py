"""A real django-spirit forum (PyPI ``django-spirit``, Django, SQLite) served on loopback.

Used by the tests and by `make demo`::

    python -m tests.harness.spirit serve --workdir DIR [--threads 36] [--seed 0] [--port P]

Seeding runs ``tests/harness/spirit_site/seed.py`` in a subprocess (Spirit's own forms render
the posts); serving is Django's development server (``runserver --noreload``) in its own
process group.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.harness import free_port

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = "tests.harness.spirit_site.settings"
#: Served at /robots.txt until :meth:`SpiritServer.set_robots_txt` says otherwise.
DEFAULT_ROBOTS = "User-agent: *\nDisallow: /user/\nDisallow: /search/\nDisallow: /st/admin/\n"


class SpiritServer:
    """A fresh django-spirit forum in ``workdir``, seeded once, served on 127.0.0.1."""

    def __init__(self, workdir: Path, *, port: int | None = None) -> None:
        self.workdir = Path(workdir).resolve()
        self._port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self.truth: dict[str, Any] = {}

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8080/ (the board's index)."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def _env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": SETTINGS,
                "SPIRIT_WORKDIR": str(self.workdir), "SPIRIT_SITE_URL": self.url}

    def seed(self, threads: int = 36, seed: int = 0) -> dict[str, Any]:
        """Migrate a new database and seed it; return the ground truth (also truth.json)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._port is None:
            self._port = free_port()
        (self.workdir / "spirit.sqlite3").unlink(missing_ok=True)
        out = self.workdir / "truth.json"
        result = subprocess.run(
            [sys.executable, "-m", "tests.harness.spirit_site.seed", "--threads", str(threads),
             "--seed", str(seed), "--out", str(out)],
            cwd=ROOT, env=self._env(), capture_output=True, text=True, timeout=600,
        )
        if result.returncode != 0:
            raise RuntimeError(f"seeding the spirit forum failed:\n{result.stderr[-3000:]}")
        self.truth = json.loads(out.read_text())
        return self.truth

    def mutate(self, ops: list[dict[str, Any]]) -> list[int | None]:
        """Change the forum through Spirit's forms and models (see spirit_site/mutate.py)."""
        result = subprocess.run(
            [sys.executable, "-m", "tests.harness.spirit_site.mutate"], input=json.dumps(ops),
            cwd=ROOT, env=self._env(), capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"changing the spirit forum failed:\n{result.stderr[-3000:]}")
        created: list[int | None] = json.loads(result.stdout.strip().splitlines()[-1])
        return created

    def set_robots_txt(self, text: str) -> None:
        """Serve ``text`` at /robots.txt from the next request on."""
        target = self.workdir / "robots.txt"
        target.with_suffix(".tmp").write_text(text)
        target.with_suffix(".tmp").replace(target)

    def start(self, timeout: float = 60.0) -> SpiritServer:
        """Serve the seeded forum and wait until it answers."""
        if self._proc is not None:
            return self
        if self._port is None:
            self._port = free_port()
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{self.port}",
                 "--noreload"],
                cwd=ROOT, env=self._env(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"runserver exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "robots.txt", timeout=5) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the spirit forum did not answer within {timeout:.0f}s")

    def stop(self) -> None:
        """Stop the server (its whole process group)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        atexit.unregister(self.stop)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def __enter__(self) -> SpiritServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _serve(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = SpiritServer(Path(args.workdir), port=args.port)
    truth = server.seed(args.threads, args.seed)
    posts = sum(len(t["posts"]) for t in truth["threads"])
    with server:
        print(f"READY {server.url} threads={len(truth['threads'])} posts={posts}", flush=True)
        while not stop.wait(1.0):
            if server._proc is None or server._proc.poll() is not None:
                print(f"runserver exited; see {server.log_path}", file=sys.stderr)
                return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``serve --workdir DIR [--threads N] [--seed S] [--port P]``."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness.spirit")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="seed and serve a forum until SIGTERM")
    serve.add_argument("--workdir", required=True)
    serve.add_argument("--threads", type=int, default=36)
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--port", type=int, default=None)
    return _serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
