"""Test harness: real commons software and real prose, run offline on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
_DENY_SERVICES = "#!/bin/sh\n# written by tests.harness: keep services from starting\nexit 101\n"


def apt_install(packages: Sequence[str], *, block_services: bool = False) -> None:
    """Install Debian packages non-interactively; run `apt-get update` once if needed.

    With `block_services`, a /usr/sbin/policy-rc.d that exits 101 is in place during
    the install so that no daemon (apache2, say) is started. Raises RuntimeError.
    """
    if os.geteuid() != 0:
        raise RuntimeError(
            f"need root to install {' '.join(packages)}; run: "
            f"apt-get install -y --no-install-recommends {' '.join(packages)}"
        )
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"apt-get not found; cannot install {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    with _services_blocked() if block_services else _nothing():
        result = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True)
            result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout)[-2000:]
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{tail}")


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def _services_blocked() -> Iterator[None]:
    """Keep a policy-rc.d that exits 101 in place, then restore what was there."""
    previous = POLICY_RC_D.read_bytes() if POLICY_RC_D.exists() else None
    previous_mode = POLICY_RC_D.stat().st_mode if previous is not None else None
    POLICY_RC_D.write_text(_DENY_SERVICES)
    POLICY_RC_D.chmod(0o755)
    try:
        yield
    finally:
        if previous is None:
            POLICY_RC_D.unlink(missing_ok=True)
        else:
            POLICY_RC_D.write_bytes(previous)
            if previous_mode is not None:
                POLICY_RC_D.chmod(previous_mode)


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
