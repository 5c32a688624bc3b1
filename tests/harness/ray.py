"""A real Ray cluster on loopback for the tests: `ray start --head --block` as a child.

    with RayHead(num_cpus=2) as head:   # head.address == "127.0.0.1:PORT"
        env = {**os.environ, **head.env}  # a driver needs these (token auth, loopback)

The head runs in its own session with a short private temp dir (Ray's socket paths must
stay under ~100 characters) and is stopped with SIGINT, which makes `ray start --block`
stop the processes it started; never `ray stop`, which kills every Ray process of the
machine by name.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psutil

from tests.harness import free_port

VENV_BIN = Path(sys.executable).parent


def ray_env(folder: Path) -> dict[str, str]:
    """Environment of the head and of every driver: loopback, no usage stats, our token."""
    token = folder / "auth_token"
    if not token.exists():
        token.write_text(secrets.token_hex(32))
        token.chmod(0o600)
    return {
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # keeps every server on 127.0.0.1
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
    }


class RayHead:
    """A one-node Ray cluster with ``num_cpus`` worker slots."""

    def __init__(self, num_cpus: int = 2, object_store_bytes: int = 512 * 1024 * 1024) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = ray_env(self.folder)
        self.num_cpus = num_cpus
        self.object_store_bytes = object_store_bytes
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.folder / "head.log"

    def start(self, timeout: float = 120.0) -> RayHead:
        cmd = [str(VENV_BIN / "ray"), "start", "--head", "--block", "--port", str(self.port),
               "--node-ip-address", "127.0.0.1", "--include-dashboard=false",
               "--disable-usage-stats", "--num-cpus", str(self.num_cpus),
               "--object-store-memory", str(self.object_store_bytes),
               "--temp-dir", str(self.folder / "t")]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(cmd, env={**os.environ, **self.env}, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while "Ray runtime started" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"ray head did not start:\n{self.log.read_text()}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            try:
                procs = [psutil.Process(self.proc.pid),
                         *psutil.Process(self.proc.pid).children(recursive=True)]
            except psutil.NoSuchProcess:
                procs = []
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            _, alive = psutil.wait_procs(procs, timeout=15)
            for p in alive:  # only this head's own descendants
                with contextlib.suppress(psutil.Error):
                    p.kill()
            self.proc = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> RayHead:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
