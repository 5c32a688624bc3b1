"""The run folder ``DATA/audits/<run>/`` and its run.json: a run's status from start to end.

run.json is written ``running`` first and rewritten (atomically) at every stage; it says
``complete`` only after the write stage's outputs (:mod:`audit.write`) are durable, and
``failed`` with the error when a stage raises. A killed audit therefore stays ``running`` and
``commons audits`` shows it as ``interrupted`` once its process is gone.

Re-running a ``--run-name``: refused unless ``--force``. With ``--force`` the old folder is
renamed aside into ``DATA/audits/.replaced/`` at once (one atomic rename, so the catalog
never sees two runs of one name) and deleted when the new run completes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

from audit.config import AuditConfig
from audit.exceptions import RunExistsError
from commons.fsutil import atomic_write_json, fsync_dir
from commons.provenance import host_facts, iso, library_versions, utcnow
from commons.store import DataDir

RUN_JSON = "run.json"
REPLACED = ".replaced"


class RunFolder:
    """One audit run's folder and its run.json."""

    def __init__(self, data: DataDir, config: AuditConfig) -> None:
        self.data = data
        self.config = config
        self.dir = data.audits / config.run_name
        self.work = self.dir / "work"
        self.meta: dict[str, Any] = {}
        self._replaced: Path | None = None

    @property
    def run_json(self) -> Path:
        return self.dir / RUN_JSON

    def begin(self) -> None:
        """Claim the folder (see module doc for --force) and write the ``running`` run.json."""
        self.data.audits.mkdir(parents=True, exist_ok=True)
        if self.dir.exists():
            if not self.config.options.force:
                status = read_run_json(self.dir).get("status", "unknown")
                raise RunExistsError(
                    f"audit run {self.config.run_name!r} already exists in {self.dir} "
                    f"(status {status}); pick another --run-name or pass --force to replace it"
                )
            aside = self.data.audits / REPLACED
            aside.mkdir(exist_ok=True)
            self._replaced = aside / f"{self.config.run_name}-{utcnow():%Y%m%dT%H%M%S%f}"
            os.replace(self.dir, self._replaced)
            fsync_dir(self.data.audits)
        self.work.mkdir(parents=True)
        c, p = self.config, self.config.params
        self.meta = {
            "run": c.run_name, "status": "running", "started_at": iso(utcnow()),
            "finished_at": None, "error": None, "pid": os.getpid(),
            "host": {**host_facts(), "hostname": socket.gethostname()},
            "threshold": p.threshold, "num_perm": p.num_perm, "ngram": p.ngram, "seed": p.seed,
            "scheme": p.scheme, "hashfunc": p.hashfunc, "sample": p.sample,
            "sample_seed": p.sample_seed, "verify": p.verify, "text_column": c.text_column,
            "id_column": c.id_column, "sources": list(c.sources), "config": c.to_dict(),
            "versions": library_versions(("tqdm", "click")), "timings": {}, "inputs": [],
            "snapshots": [], "read": {}, "sign": {}, "calibration": {}, "outputs": {},
        }
        self.save()

    def save(self) -> None:
        """Rewrite run.json (atomically) with :attr:`meta`."""
        atomic_write_json(self.run_json, self.meta)

    def complete(self) -> None:
        """Mark complete (outputs are already durable), then drop work/ and the old run."""
        self.meta["status"] = "complete"
        self.meta["finished_at"] = iso(utcnow())
        self.save()
        if not self.config.options.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)
        if self._replaced is not None:
            shutil.rmtree(self._replaced, ignore_errors=True)

    def fail(self, error: str) -> None:
        """Mark failed with ``error``; work/ stays for inspection."""
        self.meta["status"] = "failed"
        self.meta["finished_at"] = iso(utcnow())
        self.meta["error"] = error
        self.save()


def read_run_json(run_dir: Path) -> dict[str, Any]:
    """A run's run.json, or ``{}`` when missing or unreadable."""
    try:
        data: dict[str, Any] = json.loads((run_dir / RUN_JSON).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data


def displayed_status(meta: dict[str, Any]) -> str:
    """``running`` only while the recorded process is alive on this host, else ``interrupted``."""
    status = str(meta.get("status") or "unknown")
    if status != "running":
        return status
    host = (meta.get("host") or {}).get("hostname")
    pid = meta.get("pid")
    if host != socket.gethostname() or not isinstance(pid, int):
        return status
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "interrupted"
    except PermissionError:
        return status
    return status


def list_runs(data: DataDir) -> list[dict[str, Any]]:
    """run.json of every run folder, by start time."""
    if not data.audits.exists():
        return []
    runs = [read_run_json(p) for p in sorted(data.audits.iterdir())
            if p.is_dir() and not p.name.startswith(".")]
    return sorted((r for r in runs if r), key=lambda r: r.get("started_at") or "")
