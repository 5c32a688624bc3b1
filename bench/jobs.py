"""Measured jobs, each in its own process (``bench.child``, or datatrove's own venv)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def _job(command: list[str], what: str, cwd: Path | None = None) -> dict[str, Any]:
    """Run one measured job in its own process and return the JSON line it prints."""
    proc = subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        last = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1:] or ["no output"]
        raise RuntimeError(f"{what} exited {proc.returncode}: {last[0][:300]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def child(*args: str) -> dict[str, Any]:
    """Run ``python -m bench.child ARGS`` and return its JSON line."""
    return _job([sys.executable, "-m", "bench.child", *args], f"bench.child {args[0]}")


def external(python: Path, *args: str) -> dict[str, Any]:
    """Run ``python -m bench.datatrove_job ARGS`` under another venv's ``python``."""
    if not python.exists():
        raise RuntimeError(f"{python} is missing; `make bench` installs datatrove's venv there "
                           "(or set BENCH_DATATROVE_PYTHON)")
    return _job([str(python), "-m", "bench.datatrove_job", *args], "bench.datatrove_job",
                cwd=Path(__file__).resolve().parents[1])
