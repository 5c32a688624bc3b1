"""One crawl in a fresh process, for the scheduler (Scrapy's reactor runs once per process).

``python -m pipelines.worker`` reads a JSON job on stdin, ``{"spider": KIND, "args": {...},
"settings": {...}}``, runs it like ``commons crawl`` does, and prints one JSON line:
``{"status": ..., "snapshot_id": ..., "documents": ..., "error": ...}``. It exits 0 when the
snapshot is complete, 1 when the crawl failed and 70 on an internal error.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from commons.exceptions import CommonsError


@dataclass(frozen=True)
class CrawlJob:
    """What the worker runs."""

    spider: str
    args: dict[str, Any]
    settings: dict[str, Any]


@dataclass(frozen=True)
class WorkerResult:
    """How a worker's crawl ended."""

    status: str
    snapshot_id: str | None
    documents: int
    error: str | None
    returncode: int


def run_in_subprocess(job: CrawlJob, timeout: float | None = None) -> WorkerResult:
    """Run ``job`` in ``python -m pipelines.worker`` and read its result."""
    payload = json.dumps({"spider": job.spider, "args": job.args, "settings": job.settings})
    try:
        proc = subprocess.run([sys.executable, "-m", "pipelines.worker"], input=payload,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return WorkerResult("failed", None, 0, f"crawl timed out after {timeout:.0f}s", -1)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    try:
        out = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = " ".join(proc.stderr.strip().splitlines()[-3:])[-500:]
        return WorkerResult("failed", None, 0, f"crawl process ended with code "
                            f"{proc.returncode} and no result ({tail or 'no output'})",
                            proc.returncode)
    return WorkerResult(out.get("status") or "failed", out.get("snapshot_id"),
                        int(out.get("documents") or 0), out.get("error"), proc.returncode)


def main() -> int:
    from crawler.runner import run_crawl

    job = json.load(sys.stdin)
    try:
        result = run_crawl(job["spider"], job["args"], job["settings"])
        out: dict[str, Any] = {"status": result.status, "snapshot_id": result.snapshot_id,
                               "documents": result.documents, "error": None}
        code = 0
    except CommonsError as exc:
        out, code = {"status": "failed", "error": str(exc)}, 1
    except Exception as exc:  # report, don't crash the scheduler
        out, code = {"status": "failed",
                     "error": f"internal error: {exc.__class__.__name__}: {exc}"}, 70
    print(json.dumps(out), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
